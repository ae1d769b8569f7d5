"""The centre's policy for the emergency sheet, in words.

What the sealed envelope's policy says, step by step in its own order, when
the emergency key may be used, and the command that makes a new key. The
sheet (``vault.emergency_sheet``) prints these words, and so do ``vault
init`` and ``vault emergency-sheet``, so the screen and the paper never
disagree. Plain text only: no PDF library here, so the CLI can load it fast.
"""

from __future__ import annotations

RENEW_COMMAND = "vault emergency-sheet --out FILE.pdf"
VALIDITY = (
    "Use this key when the coordinator's passphrase is lost or the coordinator is "
    "unavailable for an extended period."
)
NO_BACKUPS = "(none was set up when this sheet was printed: write where they are by hand)"

# The centre's policy for the sealed envelope, in its own order. The same
# words are on the sheet and in what `vault init` and `vault emergency-sheet`
# print, so the screen and the paper never disagree.
SEALING_STEPS = (
    "Print the sheet and check that the key and the QR code are clear. Only then delete "
    "the PDF file from the computer (and empty the recycle bin or trash).",
    "Fill in the box at the bottom of the sheet.",
    "Fold the sheet, put it in an envelope on its own, and seal the envelope.",
    "The coordinator signs the sealed envelope, with the signature running partly over "
    "the flap and partly over the envelope.",
    "Put clear tape over the signature, so the envelope cannot be opened and resealed "
    "without it showing.",
    "Write the vault ID and the date sealed on the front of the envelope.",
    "A management committee member keeps the envelope, somewhere locked, away from the "
    "centre's computers.",
    "Every opening of the envelope is recorded in the committee minutes, with the date, "
    "who opened it and why.",
    "After any opening, or if the sheet is lost, the coordinator makes a new emergency "
    "key and seals the new sheet in the same way; the old key then stops working, and "
    f"the old sheet is shredded. The command: {RENEW_COMMAND}",
)
