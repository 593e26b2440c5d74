"""Procedural text tasks, generated from a seed: word problems, arithmetic, ordering,
comparison, syllogisms, and the tasks whose required depth grows with difficulty
(nary_addition, phop, variable_chains, igsm), the size-generalisation tasks answered in place
(prefix_parity, long_addition, shell_game). `templates.py`: names, objects, phrasing."""
