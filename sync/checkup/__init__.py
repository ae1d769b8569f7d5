"""``vault checkup``: the computer and the backups against the centre's policy.

Three modules, one job each: ``probes`` runs the system's own commands
(findmnt, lsblk, apt-get -s, fdesetup, manage-bde, ...) and reads its files,
always with a short timeout, never the network, never a secret, and a
missing command is no answer rather than an error; ``decide`` turns their
outputs into findings, pure functions tested on outputs recorded from real
systems (``tests/fixtures/checkup/``); ``checklist`` puts the findings and
the vault's own state (remotes, checks, keys) together as the list of
checks, each with the words of the policy it answers and what to do.
``folder`` looks at the vault folder itself (modes, owner, stray plaintext).
"""
