from ftlock.cli import main

main()
