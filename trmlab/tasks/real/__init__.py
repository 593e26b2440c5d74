"""Real data sets read from files or the Hugging Face hub (gsm8k, mawps, orca_math) and
reasoning-gym's generators (gym). `base.py`: reading, the shared filter, the splits."""
