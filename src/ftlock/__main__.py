from ftlock.cli import run

run()
