"""Exit codes and the exception tree of the vault.

Every error a user can cause is a ``VaultError`` subclass that carries its exit
code and, where one helps, a hint saying how to fix it. Only the CLI entry point
catches these and turns them into one line on stderr and an exit status.

    VaultError                      1  failure
    ├── UsageError                  2  bad arguments, weak passphrase
    │   ├── WeakPassphraseError
    │   └── SettingsError              a malformed setting in config.json
    ├── VaultNotFoundError          1  no vault at that folder
    ├── VaultExistsError            1  init over an existing vault
    ├── LockedError                 1  another vault command is running
    ├── NotFoundError               1  unknown document id
    ├── StorageError                1  disk full, no permission, read-only folder
    ├── MissingSigningKeyError      1  this computer's signing key is missing
    ├── AgentError                  1  the unlock agent cannot be used safely or started
    ├── WrongKeyError               3  wrong passphrase, wrong emergency key
    ├── IntegrityError              4  tampered object, bad MAC, broken audit chain
    │   └── CryptoFormatError          malformed or hostile age file
    ├── RemoteError                 5  remote unreachable or refused
    ├── PartialBatchError           6  some inputs not stored (left in place or quarantined)
    ├── AccessRefusedError          7  the key's access level does not allow this command
    ├── UnreadableInputError        1  this input cannot be stored (quarantine it)
    └── OcrEngineError              1  tesseract failed or is missing

Messages never contain a passphrase, a key, a file name of a document or any
text of a document: they name object ids and document ids only.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1
    USAGE = 2
    WRONG_KEY = 3
    INTEGRITY = 4
    REMOTE = 5
    PARTIAL = 6
    ACCESS = 7
    INTERRUPTED = 130


class VaultError(Exception):
    """Base of every error the vault reports to a user."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(VaultError):
    exit_code = ExitCode.USAGE


class WeakPassphraseError(UsageError):
    """The passphrase breaks the centre's policy; the message names the rule."""


class VaultNotFoundError(VaultError):
    pass


class VaultExistsError(VaultError):
    pass


class LockedError(VaultError):
    pass


class NotFoundError(VaultError):
    pass


class StorageError(VaultError):
    """The computer refused a file operation (disk full, permission denied,
    read-only folder): not tampering, so never exit status 4. Made from an
    ``OSError`` by ``vault.oserror.storage_error``."""

    def __init__(self, message: str, *, hint: str | None = None, errno: int | None = None) -> None:
        super().__init__(message, hint=hint)
        self.errno = errno


class SettingsError(UsageError):
    """A setting in the vault's config.json has the wrong type or value (a
    usage error, as a bad option is: the user's input, fixed by editing it)."""


class MissingSigningKeyError(VaultError):
    """Storing without the passphrase needs this computer's signing key."""


class AgentError(VaultError):
    """The unlock agent's folder is not private, or the agent cannot start."""


class WrongKeyError(VaultError):
    exit_code = ExitCode.WRONG_KEY


class IntegrityError(VaultError):
    exit_code = ExitCode.INTEGRITY


class CryptoFormatError(IntegrityError):
    """An age file that is malformed, or hostile (say, an absurd scrypt cost)."""


class RemoteError(VaultError):
    exit_code = ExitCode.REMOTE


class PartialBatchError(VaultError):
    exit_code = ExitCode.PARTIAL


class AccessRefusedError(VaultError):
    """The key that unlocked opens only an access level (``vault.levels``)
    that may read and search: anything else is refused."""

    exit_code = ExitCode.ACCESS


class UnreadableInputError(VaultError):
    """One input file cannot be read: corrupt, password-protected, a
    decompression bomb, too many pages, an unknown type. The message is the
    short reason written beside the quarantined file (never its text)."""


class OcrEngineError(VaultError):
    """The OCR engine itself failed (missing, crashed, timed out)."""
