"""The resolver: a :class:`~ftlock.resolve.result.SolveRequest` in, a
:class:`~ftlock.resolve.result.Resolution` out — inputs and target, candidates and the
selection policy, the resolvelib provider, the engine, explanations and the solve cache.
"""
