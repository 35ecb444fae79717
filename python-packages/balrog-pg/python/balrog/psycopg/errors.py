"""psycopg's exceptions: the PEP 249 hierarchy and one class per PostgreSQL SQLSTATE.

::

    Exception
    |__Warning
    |__Error
       |__InterfaceError
       |__DatabaseError
          |__DataError
          |__OperationalError
          |__IntegrityError
          |__InternalError
          |__ProgrammingError
          |__NotSupportedError

The driver turns a server ErrorResponse into an exception with :func:`_from_server`, which
picks the class by SQLSTATE (falling back on the SQLSTATE class, then DatabaseError) and
formats the message the way libpq does at its default verbosity, severity stripped, which
is what ``str(e)`` shows in psycopg.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from .pq import DiagnosticField, ExecStatus

__all__ = [
    "CancellationTimeout",
    "ConnectionTimeout",
    "DataError",
    "DatabaseError",
    "Diagnostic",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "PipelineAborted",
    "ProgrammingError",
    "Warning",
    "get_base_exception",
    "lookup",
]

# What an error carries about the server's report: DiagnosticField (an int) -> value.
# Values are bytes in psycopg (decoded with the connection encoding when read); balrog's
# driver hands over str. Both are accepted so that psycopg-style dicts keep working.
ErrorInfo = Mapping[int, bytes | str | None] | None

# SQLSTATE code and constant name (upper case) -> exception class; filled by the classes
# below as they are defined, in the order of PostgreSQL's errcodes list (when two codes
# share a constant name, the later one wins the name, as in psycopg).
_sqlcodes: dict[str, type[Error]] = {}


class Warning(Exception):  # the PEP 249 name, shadowing the builtin on purpose
    """Important warnings; defined for PEP 249, never raised."""

    __module__ = "balrog.psycopg"


class Error(Exception):
    """Base class of every error the driver raises. Picklable."""

    __module__ = "balrog.psycopg"

    sqlstate: str | None = None

    def __init__(
        self,
        *args: Any,
        info: ErrorInfo = None,
        encoding: str = "utf-8",
        pgconn: Any = None,
    ) -> None:
        super().__init__(*args)
        self._info = info
        self._encoding = encoding
        self._pgconn = pgconn
        # A code we have no class for still reports its SQLSTATE.
        if not self.sqlstate and info:
            self.sqlstate = self.diag.sqlstate

    @property
    def pgconn(self) -> Any:
        """The connection, if the error came from a connection attempt (balrog: None)."""
        return self._pgconn if self._pgconn else None

    @property
    def pgresult(self) -> Any:
        """The result of the failed query, for a server error: psycopg's PGresult surface
        that error handling reads (``status``, ``error_field()``, ``error_message``).
        None for other errors, and after pickling (as psycopg)."""
        if not self._info or getattr(self, "_unpickled", False):
            return None
        return _ErrorResult(self)

    @property
    def diag(self) -> Diagnostic:
        """The fields of the server's error report."""
        return Diagnostic(self._info, encoding=self._encoding)

    def __reduce__(self) -> str | tuple[Any, ...]:
        reduced = super().__reduce__()
        if isinstance(reduced, tuple) and len(reduced) >= 3 and isinstance(reduced[2], dict):
            reduced[2]["_info"] = dict(self._info) if self._info else self._info
            reduced[2]["_pgconn"] = None  # a connection does not travel
            reduced[2]["_unpickled"] = True  # nor does a result
        return reduced


class _ErrorResult:
    """A failed query's result as libpq's PGresult shows it (FATAL_ERROR, no rows)."""

    __slots__ = ("_error",)

    status = ExecStatus.FATAL_ERROR
    ntuples = 0
    nfields = 0

    def __init__(self, error: Error) -> None:
        self._error = error

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.PGresult [FATAL_ERROR] at 0x{id(self):x}>"

    def error_field(self, fieldcode: int) -> bytes | None:
        info = self._error._info
        value = info.get(fieldcode) if info else None
        if value is None:
            return None
        return value if isinstance(value, bytes) else str(value).encode(self._error._encoding)

    @property
    def error_message(self) -> bytes:
        # libpq's PQresultErrorMessage: the severity, two spaces, the report, a newline.
        severity = self._error.diag.severity or "ERROR"
        return f"{severity}:  {self._error}\n".encode(self._error._encoding)


class InterfaceError(Error):
    """An error of the database interface rather than of the database."""

    __module__ = "balrog.psycopg"


class DatabaseError(Error):
    """An error related to the database."""

    __module__ = "balrog.psycopg"

    def __init_subclass__(cls, code: str | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if code:
            _sqlcodes[code] = cls
            cls.sqlstate = code
        if name:
            _sqlcodes[name] = cls


class DataError(DatabaseError):
    """Problems with the processed data (division by zero, value out of range ...)."""

    __module__ = "balrog.psycopg"


class OperationalError(DatabaseError):
    """Errors of the database's operation (unexpected disconnect, out of memory ...)."""

    __module__ = "balrog.psycopg"


class IntegrityError(DatabaseError):
    """The relational integrity of the database would be affected (foreign key ...)."""

    __module__ = "balrog.psycopg"


class InternalError(DatabaseError):
    """The database met an internal error (invalid cursor, transaction out of sync ...)."""

    __module__ = "balrog.psycopg"


class ProgrammingError(DatabaseError):
    """Programming errors (table not found, syntax error, wrong number of parameters ...)."""

    __module__ = "balrog.psycopg"


class NotSupportedError(DatabaseError):
    """A method or database API not supported by the database was used."""

    __module__ = "balrog.psycopg"


class ConnectionTimeout(OperationalError):
    """``connect()`` did not obtain a connection within ``connect_timeout``."""


class CancellationTimeout(OperationalError):
    """``Connection.cancel_safe()`` did not complete in time."""


class _WaitTimeout(OperationalError):
    """A wait expired (internal: callers turn it into a public error)."""


class PipelineAborted(OperationalError):
    """An operation failed because the current pipeline is in the aborted state."""


class Diagnostic:
    """The fields of a server error report (all ``str | None``)."""

    def __init__(self, info: ErrorInfo, encoding: str = "utf-8") -> None:
        self._info = info
        self._encoding = encoding

    def _field(self, field: DiagnosticField) -> str | None:
        if not self._info:
            return None
        value = self._info.get(field)
        if isinstance(value, bytes):
            return value.decode(self._encoding, "replace")
        return value

    @property
    def severity(self) -> str | None:
        return self._field(DiagnosticField.SEVERITY)

    @property
    def severity_nonlocalized(self) -> str | None:
        return self._field(DiagnosticField.SEVERITY_NONLOCALIZED)

    @property
    def sqlstate(self) -> str | None:
        return self._field(DiagnosticField.SQLSTATE)

    @property
    def message_primary(self) -> str | None:
        return self._field(DiagnosticField.MESSAGE_PRIMARY)

    @property
    def message_detail(self) -> str | None:
        return self._field(DiagnosticField.MESSAGE_DETAIL)

    @property
    def message_hint(self) -> str | None:
        return self._field(DiagnosticField.MESSAGE_HINT)

    @property
    def statement_position(self) -> str | None:
        return self._field(DiagnosticField.STATEMENT_POSITION)

    @property
    def internal_position(self) -> str | None:
        return self._field(DiagnosticField.INTERNAL_POSITION)

    @property
    def internal_query(self) -> str | None:
        return self._field(DiagnosticField.INTERNAL_QUERY)

    @property
    def context(self) -> str | None:
        return self._field(DiagnosticField.CONTEXT)

    @property
    def schema_name(self) -> str | None:
        return self._field(DiagnosticField.SCHEMA_NAME)

    @property
    def table_name(self) -> str | None:
        return self._field(DiagnosticField.TABLE_NAME)

    @property
    def column_name(self) -> str | None:
        return self._field(DiagnosticField.COLUMN_NAME)

    @property
    def datatype_name(self) -> str | None:
        return self._field(DiagnosticField.DATATYPE_NAME)

    @property
    def constraint_name(self) -> str | None:
        return self._field(DiagnosticField.CONSTRAINT_NAME)

    @property
    def source_file(self) -> str | None:
        return self._field(DiagnosticField.SOURCE_FILE)

    @property
    def source_line(self) -> str | None:
        return self._field(DiagnosticField.SOURCE_LINE)

    @property
    def source_function(self) -> str | None:
        return self._field(DiagnosticField.SOURCE_FUNCTION)


def lookup(sqlstate: str) -> type[Error]:
    """The exception class of a SQLSTATE code or constant name; KeyError if unknown."""
    return _sqlcodes[sqlstate.upper()]


def get_base_exception(sqlstate: str) -> type[Error]:
    """The PEP 249 class a SQLSTATE belongs to, by its class (first two characters)."""
    return _BASE_BY_CLASS.get(sqlstate[:2]) or _BASE_BY_CLASS.get(sqlstate[:1]) or DatabaseError


def _class_for_state(sqlstate: str) -> type[Error]:
    try:
        return lookup(sqlstate)
    except KeyError:
        return get_base_exception(sqlstate)


# -- building errors from a server report ----------------------------------------------------

_FIELD_BY_CODE = {chr(field.value): field for field in DiagnosticField}


def _from_server(fields: Mapping[str, str], query: str | None = None, *, encoding: str = "utf-8") -> Error:
    """The exception for a server ErrorResponse.

    ``fields`` maps the protocol's one-letter field codes ('S', 'C', 'M', 'D', 'P' ...) to
    their values. ``query`` is the statement text as sent, if known: with it the message
    shows the ``LINE n:`` excerpt and caret under an error position, as psycopg's does.
    """
    info: dict[int, str | None] = {}
    for code, value in fields.items():
        field = _FIELD_BY_CODE.get(code)
        if field is not None:
            info[field] = value
    cls = _class_for_state(fields.get("C", ""))
    return cls(_format_report(fields, query), info=info, encoding=encoding)


def _format_report(fields: Mapping[str, str], query: str | None) -> str:
    """The report as libpq words it at default verbosity, without the severity prefix."""
    lines = [fields.get("M") or "missing error text"]
    cursor_query: str | None = None
    cursor_pos = 0
    if (position := fields.get("P")) is not None:
        if query is not None:
            cursor_query, cursor_pos = query, _to_int(position)
        else:
            lines[0] += f" at character {position}"
    elif (position := fields.get("p")) is not None:
        internal_query = fields.get("q")
        if internal_query is not None:
            cursor_query, cursor_pos = internal_query, _to_int(position)
        else:
            lines[0] += f" at character {position}"
    if cursor_query is not None and cursor_pos > 0:
        lines.extend(_cursor_excerpt(cursor_query, cursor_pos))
    for code, label in (("D", "DETAIL"), ("H", "HINT"), ("q", "QUERY"), ("W", "CONTEXT")):
        if (value := fields.get(code)) is not None:
            lines.append(f"{label}:  {value}")
    return "\n".join(lines).strip()


def _locate(exc: BaseException, query: bytes) -> None:
    """Reword a server error whose position is in ``query`` (the statement text as sent):
    libpq shows the ``LINE n:`` excerpt and caret when it knows the text, as it does for
    every statement sent with its text (not for the execution of a prepared one). Query
    bytes are UTF-8 whatever the client encoding (the native layer converts them)."""
    info = getattr(exc, "_info", None)
    if not isinstance(exc, Error) or not info or info.get(DiagnosticField.STATEMENT_POSITION) is None:
        return
    fields = {chr(code): value for code, value in info.items() if isinstance(value, str)}
    exc.args = (_format_report(fields, query.decode("utf-8", "replace")),)


def _locate_in_batch(exc: BaseException, statements: list[bytes], separator: bytes) -> None:
    """:func:`_locate` for an error of ``separator.join(statements)`` sent as one string:
    the position and excerpt are made relative to the statement it falls in, as if that
    statement had been sent alone (as psycopg sends each one)."""
    info = getattr(exc, "_info", None)
    if not isinstance(exc, Error) or not isinstance(info, dict):
        return
    position = _to_int(str(info.get(DiagnosticField.STATEMENT_POSITION) or 0))
    if position <= 0:
        return
    gap = len(separator.decode("utf-8", "replace"))
    start = 0  # character offset of the statement in the joined text
    for statement in statements:
        length = len(statement.decode("utf-8", "replace"))
        if position <= start + length + gap:
            info[DiagnosticField.STATEMENT_POSITION] = str(max(position - start, 1))
            _locate(exc, statement)
            return
        start += length + gap


def _to_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


# libpq shows at most this many screen columns of the offending line, and keeps the caret
# at least this far from a cut right end.
_DISPLAY_SIZE = 60
_MIN_RIGHT_CUT = 10


def _screen_width(char: str) -> int:
    # East Asian wide characters take two columns; everything else counts as one
    # (libpq treats zero-width and control characters as one column too).
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _cursor_excerpt(query: str, position: int) -> list[str]:
    """``LINE n: <text>`` and the caret line under character ``position`` (1-based)."""
    loc = position - 1
    line_no = 1
    begin = 0
    end = -1
    columns = [0]  # columns[i]: screen column where character i starts
    for index, char in enumerate(query):
        if char in "\r\n":
            if index < loc:
                # "\r\n" counts as one line break
                if char == "\r" or index == 0 or query[index - 1] != "\r":
                    line_no += 1
                begin = index + 1
            else:
                end = index
                break
        columns.append(columns[-1] + _screen_width(char))
    if end < 0:
        end = len(columns) - 1
    if loc >= len(columns):  # past the end of the query: no excerpt, as libpq
        return []
    text = query.replace("\t", " ")
    cut_left = cut_right = False
    if columns[end] - columns[begin] > _DISPLAY_SIZE:
        if columns[begin] + _DISPLAY_SIZE >= columns[loc] + _MIN_RIGHT_CUT:
            while columns[end] - columns[begin] > _DISPLAY_SIZE:
                end -= 1
            cut_right = True
        else:
            while columns[loc] + _MIN_RIGHT_CUT < columns[end]:
                end -= 1
                cut_right = True
            while columns[end] - columns[begin] > _DISPLAY_SIZE:
                begin += 1
                cut_left = True
    prefix = f"LINE {line_no}: " + ("..." if cut_left else "")
    excerpt = prefix + text[begin:end] + ("..." if cut_right else "")
    indent = sum(_screen_width(char) for char in prefix) + columns[loc] - columns[begin]
    return [excerpt, " " * indent + "^"]


_BASE_BY_CLASS: dict[str, type[Error]] = {
    "08": OperationalError,  # Connection Exception
    "0A": NotSupportedError,  # Feature Not Supported
    "10": ProgrammingError,  # XQuery Error
    "20": ProgrammingError,  # Case Not Found
    "21": ProgrammingError,  # Cardinality Violation
    "22": DataError,  # Data Exception
    "23": IntegrityError,  # Integrity Constraint Violation
    "24": InternalError,  # Invalid Cursor State
    "25": InternalError,  # Invalid Transaction State
    "26": ProgrammingError,  # Invalid SQL Statement Name
    "27": OperationalError,  # Triggered Data Change Violation
    "28": OperationalError,  # Invalid Authorization Specification
    "2B": InternalError,  # Dependent Privilege Descriptors Still Exist
    "2D": InternalError,  # Invalid Transaction Termination
    "2F": OperationalError,  # SQL Routine Exception
    "34": ProgrammingError,  # Invalid Cursor Name
    "38": OperationalError,  # External Routine Exception
    "39": OperationalError,  # External Routine Invocation Exception
    "3B": OperationalError,  # Savepoint Exception
    "3D": ProgrammingError,  # Invalid Catalog Name
    "3F": ProgrammingError,  # Invalid Schema Name
    "40": OperationalError,  # Transaction Rollback
    "42": ProgrammingError,  # Syntax Error or Access Rule Violation
    "44": ProgrammingError,  # WITH CHECK OPTION Violation
    "53": OperationalError,  # Insufficient Resources
    "54": OperationalError,  # Program Limit Exceeded
    "55": OperationalError,  # Object Not In Prerequisite State
    "57": OperationalError,  # Operator Intervention
    "58": OperationalError,  # System Error
    "F": OperationalError,  # Configuration File Error
    "H": OperationalError,  # Foreign Data Wrapper Error (SQL/MED)
    "P": ProgrammingError,  # PL/pgSQL Error
    "X": InternalError,  # Internal Error
}


# -- one class per SQLSTATE ------------------------------------------------------------------
# PostgreSQL's errcodes list (src/backend/utils/errcodes.txt), with psycopg's class names.
# The base class of each follows _BASE_BY_CLASS.

# fmt: off

# Class 02 - No Data (this is also a warning class per the SQL standard)
class NoData(DatabaseError, code="02000", name="NO_DATA"): ...
class NoAdditionalDynamicResultSetsReturned(DatabaseError,
    code="02001", name="NO_ADDITIONAL_DYNAMIC_RESULT_SETS_RETURNED"): ...

# Class 03 - SQL Statement Not Yet Complete
class SqlStatementNotYetComplete(DatabaseError, code="03000", name="SQL_STATEMENT_NOT_YET_COMPLETE"): ...

# Class 08 - Connection Exception
class ConnectionException(OperationalError, code="08000", name="CONNECTION_EXCEPTION"): ...
class SqlclientUnableToEstablishSqlconnection(OperationalError,
    code="08001", name="SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION"): ...
class ConnectionDoesNotExist(OperationalError, code="08003", name="CONNECTION_DOES_NOT_EXIST"): ...
class SqlserverRejectedEstablishmentOfSqlconnection(OperationalError,
    code="08004", name="SQLSERVER_REJECTED_ESTABLISHMENT_OF_SQLCONNECTION"): ...
class ConnectionFailure(OperationalError, code="08006", name="CONNECTION_FAILURE"): ...
class TransactionResolutionUnknown(OperationalError,
    code="08007", name="TRANSACTION_RESOLUTION_UNKNOWN"): ...
class ProtocolViolation(OperationalError, code="08P01", name="PROTOCOL_VIOLATION"): ...

# Class 09 - Triggered Action Exception
class TriggeredActionException(DatabaseError, code="09000", name="TRIGGERED_ACTION_EXCEPTION"): ...

# Class 0A - Feature Not Supported
class FeatureNotSupported(NotSupportedError, code="0A000", name="FEATURE_NOT_SUPPORTED"): ...

# Class 0B - Invalid Transaction Initiation
class InvalidTransactionInitiation(DatabaseError, code="0B000", name="INVALID_TRANSACTION_INITIATION"): ...

# Class 0F - Locator Exception
class LocatorException(DatabaseError, code="0F000", name="LOCATOR_EXCEPTION"): ...
class InvalidLocatorSpecification(DatabaseError, code="0F001", name="INVALID_LOCATOR_SPECIFICATION"): ...

# Class 0L - Invalid Grantor
class InvalidGrantor(DatabaseError, code="0L000", name="INVALID_GRANTOR"): ...
class InvalidGrantOperation(DatabaseError, code="0LP01", name="INVALID_GRANT_OPERATION"): ...

# Class 0P - Invalid Role Specification
class InvalidRoleSpecification(DatabaseError, code="0P000", name="INVALID_ROLE_SPECIFICATION"): ...

# Class 0Z - Diagnostics Exception
class DiagnosticsException(DatabaseError, code="0Z000", name="DIAGNOSTICS_EXCEPTION"): ...
class StackedDiagnosticsAccessedWithoutActiveHandler(DatabaseError,
    code="0Z002", name="STACKED_DIAGNOSTICS_ACCESSED_WITHOUT_ACTIVE_HANDLER"): ...

# Class 10 - XQuery Error
class InvalidArgumentForXquery(ProgrammingError, code="10608", name="INVALID_ARGUMENT_FOR_XQUERY"): ...

# Class 20 - Case Not Found
class CaseNotFound(ProgrammingError, code="20000", name="CASE_NOT_FOUND"): ...

# Class 21 - Cardinality Violation
class CardinalityViolation(ProgrammingError, code="21000", name="CARDINALITY_VIOLATION"): ...

# Class 22 - Data Exception
class DataException(DataError, code="22000", name="DATA_EXCEPTION"): ...
class StringDataRightTruncation(DataError, code="22001", name="STRING_DATA_RIGHT_TRUNCATION"): ...
class NullValueNoIndicatorParameter(DataError, code="22002", name="NULL_VALUE_NO_INDICATOR_PARAMETER"): ...
class NumericValueOutOfRange(DataError, code="22003", name="NUMERIC_VALUE_OUT_OF_RANGE"): ...
class NullValueNotAllowed(DataError, code="22004", name="NULL_VALUE_NOT_ALLOWED"): ...
class ErrorInAssignment(DataError, code="22005", name="ERROR_IN_ASSIGNMENT"): ...
class InvalidDatetimeFormat(DataError, code="22007", name="INVALID_DATETIME_FORMAT"): ...
class DatetimeFieldOverflow(DataError, code="22008", name="DATETIME_FIELD_OVERFLOW"): ...
class InvalidTimeZoneDisplacementValue(DataError,
    code="22009", name="INVALID_TIME_ZONE_DISPLACEMENT_VALUE"): ...
class EscapeCharacterConflict(DataError, code="2200B", name="ESCAPE_CHARACTER_CONFLICT"): ...
class InvalidUseOfEscapeCharacter(DataError, code="2200C", name="INVALID_USE_OF_ESCAPE_CHARACTER"): ...
class InvalidEscapeOctet(DataError, code="2200D", name="INVALID_ESCAPE_OCTET"): ...
class ZeroLengthCharacterString(DataError, code="2200F", name="ZERO_LENGTH_CHARACTER_STRING"): ...
class MostSpecificTypeMismatch(DataError, code="2200G", name="MOST_SPECIFIC_TYPE_MISMATCH"): ...
class SequenceGeneratorLimitExceeded(DataError, code="2200H", name="SEQUENCE_GENERATOR_LIMIT_EXCEEDED"): ...
class NotAnXmlDocument(DataError, code="2200L", name="NOT_AN_XML_DOCUMENT"): ...
class InvalidXmlDocument(DataError, code="2200M", name="INVALID_XML_DOCUMENT"): ...
class InvalidXmlContent(DataError, code="2200N", name="INVALID_XML_CONTENT"): ...
class InvalidXmlComment(DataError, code="2200S", name="INVALID_XML_COMMENT"): ...
class InvalidXmlProcessingInstruction(DataError,
    code="2200T", name="INVALID_XML_PROCESSING_INSTRUCTION"): ...
class InvalidIndicatorParameterValue(DataError, code="22010", name="INVALID_INDICATOR_PARAMETER_VALUE"): ...
class SubstringError(DataError, code="22011", name="SUBSTRING_ERROR"): ...
class DivisionByZero(DataError, code="22012", name="DIVISION_BY_ZERO"): ...
class InvalidPrecedingOrFollowingSize(DataError,
    code="22013", name="INVALID_PRECEDING_OR_FOLLOWING_SIZE"): ...
class InvalidArgumentForNtileFunction(DataError,
    code="22014", name="INVALID_ARGUMENT_FOR_NTILE_FUNCTION"): ...
class IntervalFieldOverflow(DataError, code="22015", name="INTERVAL_FIELD_OVERFLOW"): ...
class InvalidArgumentForNthValueFunction(DataError,
    code="22016", name="INVALID_ARGUMENT_FOR_NTH_VALUE_FUNCTION"): ...
class InvalidCharacterValueForCast(DataError, code="22018", name="INVALID_CHARACTER_VALUE_FOR_CAST"): ...
class InvalidEscapeCharacter(DataError, code="22019", name="INVALID_ESCAPE_CHARACTER"): ...
class InvalidRegularExpression(DataError, code="2201B", name="INVALID_REGULAR_EXPRESSION"): ...
class InvalidArgumentForLogarithm(DataError, code="2201E", name="INVALID_ARGUMENT_FOR_LOGARITHM"): ...
class InvalidArgumentForPowerFunction(DataError,
    code="2201F", name="INVALID_ARGUMENT_FOR_POWER_FUNCTION"): ...
class InvalidArgumentForWidthBucketFunction(DataError,
    code="2201G", name="INVALID_ARGUMENT_FOR_WIDTH_BUCKET_FUNCTION"): ...
class InvalidRowCountInLimitClause(DataError, code="2201W", name="INVALID_ROW_COUNT_IN_LIMIT_CLAUSE"): ...
class InvalidRowCountInResultOffsetClause(DataError,
    code="2201X", name="INVALID_ROW_COUNT_IN_RESULT_OFFSET_CLAUSE"): ...
class CharacterNotInRepertoire(DataError, code="22021", name="CHARACTER_NOT_IN_REPERTOIRE"): ...
class IndicatorOverflow(DataError, code="22022", name="INDICATOR_OVERFLOW"): ...
class InvalidParameterValue(DataError, code="22023", name="INVALID_PARAMETER_VALUE"): ...
class UnterminatedCString(DataError, code="22024", name="UNTERMINATED_C_STRING"): ...
class InvalidEscapeSequence(DataError, code="22025", name="INVALID_ESCAPE_SEQUENCE"): ...
class StringDataLengthMismatch(DataError, code="22026", name="STRING_DATA_LENGTH_MISMATCH"): ...
class TrimError(DataError, code="22027", name="TRIM_ERROR"): ...
class ArraySubscriptError(DataError, code="2202E", name="ARRAY_SUBSCRIPT_ERROR"): ...
class InvalidTablesampleRepeat(DataError, code="2202G", name="INVALID_TABLESAMPLE_REPEAT"): ...
class InvalidTablesampleArgument(DataError, code="2202H", name="INVALID_TABLESAMPLE_ARGUMENT"): ...
class DuplicateJsonObjectKeyValue(DataError, code="22030", name="DUPLICATE_JSON_OBJECT_KEY_VALUE"): ...
class InvalidArgumentForSqlJsonDatetimeFunction(DataError,
    code="22031", name="INVALID_ARGUMENT_FOR_SQL_JSON_DATETIME_FUNCTION"): ...
class InvalidJsonText(DataError, code="22032", name="INVALID_JSON_TEXT"): ...
class InvalidSqlJsonSubscript(DataError, code="22033", name="INVALID_SQL_JSON_SUBSCRIPT"): ...
class MoreThanOneSqlJsonItem(DataError, code="22034", name="MORE_THAN_ONE_SQL_JSON_ITEM"): ...
class NoSqlJsonItem(DataError, code="22035", name="NO_SQL_JSON_ITEM"): ...
class NonNumericSqlJsonItem(DataError, code="22036", name="NON_NUMERIC_SQL_JSON_ITEM"): ...
class NonUniqueKeysInAJsonObject(DataError, code="22037", name="NON_UNIQUE_KEYS_IN_A_JSON_OBJECT"): ...
class SingletonSqlJsonItemRequired(DataError, code="22038", name="SINGLETON_SQL_JSON_ITEM_REQUIRED"): ...
class SqlJsonArrayNotFound(DataError, code="22039", name="SQL_JSON_ARRAY_NOT_FOUND"): ...
class SqlJsonMemberNotFound(DataError, code="2203A", name="SQL_JSON_MEMBER_NOT_FOUND"): ...
class SqlJsonNumberNotFound(DataError, code="2203B", name="SQL_JSON_NUMBER_NOT_FOUND"): ...
class SqlJsonObjectNotFound(DataError, code="2203C", name="SQL_JSON_OBJECT_NOT_FOUND"): ...
class TooManyJsonArrayElements(DataError, code="2203D", name="TOO_MANY_JSON_ARRAY_ELEMENTS"): ...
class TooManyJsonObjectMembers(DataError, code="2203E", name="TOO_MANY_JSON_OBJECT_MEMBERS"): ...
class SqlJsonScalarRequired(DataError, code="2203F", name="SQL_JSON_SCALAR_REQUIRED"): ...
class SqlJsonItemCannotBeCastToTargetType(DataError,
    code="2203G", name="SQL_JSON_ITEM_CANNOT_BE_CAST_TO_TARGET_TYPE"): ...
class FloatingPointException(DataError, code="22P01", name="FLOATING_POINT_EXCEPTION"): ...
class InvalidTextRepresentation(DataError, code="22P02", name="INVALID_TEXT_REPRESENTATION"): ...
class InvalidBinaryRepresentation(DataError, code="22P03", name="INVALID_BINARY_REPRESENTATION"): ...
class BadCopyFileFormat(DataError, code="22P04", name="BAD_COPY_FILE_FORMAT"): ...
class UntranslatableCharacter(DataError, code="22P05", name="UNTRANSLATABLE_CHARACTER"): ...
class NonstandardUseOfEscapeCharacter(DataError,
    code="22P06", name="NONSTANDARD_USE_OF_ESCAPE_CHARACTER"): ...

# Class 23 - Integrity Constraint Violation
class IntegrityConstraintViolation(IntegrityError, code="23000", name="INTEGRITY_CONSTRAINT_VIOLATION"): ...
class RestrictViolation(IntegrityError, code="23001", name="RESTRICT_VIOLATION"): ...
class NotNullViolation(IntegrityError, code="23502", name="NOT_NULL_VIOLATION"): ...
class ForeignKeyViolation(IntegrityError, code="23503", name="FOREIGN_KEY_VIOLATION"): ...
class UniqueViolation(IntegrityError, code="23505", name="UNIQUE_VIOLATION"): ...
class CheckViolation(IntegrityError, code="23514", name="CHECK_VIOLATION"): ...
class ExclusionViolation(IntegrityError, code="23P01", name="EXCLUSION_VIOLATION"): ...

# Class 24 - Invalid Cursor State
class InvalidCursorState(InternalError, code="24000", name="INVALID_CURSOR_STATE"): ...

# Class 25 - Invalid Transaction State
class InvalidTransactionState(InternalError, code="25000", name="INVALID_TRANSACTION_STATE"): ...
class ActiveSqlTransaction(InternalError, code="25001", name="ACTIVE_SQL_TRANSACTION"): ...
class BranchTransactionAlreadyActive(InternalError,
    code="25002", name="BRANCH_TRANSACTION_ALREADY_ACTIVE"): ...
class InappropriateAccessModeForBranchTransaction(InternalError,
    code="25003", name="INAPPROPRIATE_ACCESS_MODE_FOR_BRANCH_TRANSACTION"): ...
class InappropriateIsolationLevelForBranchTransaction(InternalError,
    code="25004", name="INAPPROPRIATE_ISOLATION_LEVEL_FOR_BRANCH_TRANSACTION"): ...
class NoActiveSqlTransactionForBranchTransaction(InternalError,
    code="25005", name="NO_ACTIVE_SQL_TRANSACTION_FOR_BRANCH_TRANSACTION"): ...
class ReadOnlySqlTransaction(InternalError, code="25006", name="READ_ONLY_SQL_TRANSACTION"): ...
class SchemaAndDataStatementMixingNotSupported(InternalError,
    code="25007", name="SCHEMA_AND_DATA_STATEMENT_MIXING_NOT_SUPPORTED"): ...
class HeldCursorRequiresSameIsolationLevel(InternalError,
    code="25008", name="HELD_CURSOR_REQUIRES_SAME_ISOLATION_LEVEL"): ...
class NoActiveSqlTransaction(InternalError, code="25P01", name="NO_ACTIVE_SQL_TRANSACTION"): ...
class InFailedSqlTransaction(InternalError, code="25P02", name="IN_FAILED_SQL_TRANSACTION"): ...
class IdleInTransactionSessionTimeout(InternalError,
    code="25P03", name="IDLE_IN_TRANSACTION_SESSION_TIMEOUT"): ...
class TransactionTimeout(InternalError, code="25P04", name="TRANSACTION_TIMEOUT"): ...

# Class 26 - Invalid SQL Statement Name
class InvalidSqlStatementName(ProgrammingError, code="26000", name="INVALID_SQL_STATEMENT_NAME"): ...

# Class 27 - Triggered Data Change Violation
class TriggeredDataChangeViolation(OperationalError,
    code="27000", name="TRIGGERED_DATA_CHANGE_VIOLATION"): ...

# Class 28 - Invalid Authorization Specification
class InvalidAuthorizationSpecification(OperationalError,
    code="28000", name="INVALID_AUTHORIZATION_SPECIFICATION"): ...
class InvalidPassword(OperationalError, code="28P01", name="INVALID_PASSWORD"): ...

# Class 2B - Dependent Privilege Descriptors Still Exist
class DependentPrivilegeDescriptorsStillExist(InternalError,
    code="2B000", name="DEPENDENT_PRIVILEGE_DESCRIPTORS_STILL_EXIST"): ...
class DependentObjectsStillExist(InternalError, code="2BP01", name="DEPENDENT_OBJECTS_STILL_EXIST"): ...

# Class 2D - Invalid Transaction Termination
class InvalidTransactionTermination(InternalError,
    code="2D000", name="INVALID_TRANSACTION_TERMINATION"): ...

# Class 2F - SQL Routine Exception
class SqlRoutineException(OperationalError, code="2F000", name="SQL_ROUTINE_EXCEPTION"): ...
class ModifyingSqlDataNotPermitted(OperationalError,
    code="2F002", name="MODIFYING_SQL_DATA_NOT_PERMITTED"): ...
class ProhibitedSqlStatementAttempted(OperationalError,
    code="2F003", name="PROHIBITED_SQL_STATEMENT_ATTEMPTED"): ...
class ReadingSqlDataNotPermitted(OperationalError, code="2F004", name="READING_SQL_DATA_NOT_PERMITTED"): ...
class FunctionExecutedNoReturnStatement(OperationalError,
    code="2F005", name="FUNCTION_EXECUTED_NO_RETURN_STATEMENT"): ...

# Class 34 - Invalid Cursor Name
class InvalidCursorName(ProgrammingError, code="34000", name="INVALID_CURSOR_NAME"): ...

# Class 38 - External Routine Exception
class ExternalRoutineException(OperationalError, code="38000", name="EXTERNAL_ROUTINE_EXCEPTION"): ...
class ContainingSqlNotPermitted(OperationalError, code="38001", name="CONTAINING_SQL_NOT_PERMITTED"): ...
class ModifyingSqlDataNotPermittedExt(OperationalError,
    code="38002", name="MODIFYING_SQL_DATA_NOT_PERMITTED"): ...
class ProhibitedSqlStatementAttemptedExt(OperationalError,
    code="38003", name="PROHIBITED_SQL_STATEMENT_ATTEMPTED"): ...
class ReadingSqlDataNotPermittedExt(OperationalError,
    code="38004", name="READING_SQL_DATA_NOT_PERMITTED"): ...

# Class 39 - External Routine Invocation Exception
class ExternalRoutineInvocationException(OperationalError,
    code="39000", name="EXTERNAL_ROUTINE_INVOCATION_EXCEPTION"): ...
class InvalidSqlstateReturned(OperationalError, code="39001", name="INVALID_SQLSTATE_RETURNED"): ...
class NullValueNotAllowedExt(OperationalError, code="39004", name="NULL_VALUE_NOT_ALLOWED"): ...
class TriggerProtocolViolated(OperationalError, code="39P01", name="TRIGGER_PROTOCOL_VIOLATED"): ...
class SrfProtocolViolated(OperationalError, code="39P02", name="SRF_PROTOCOL_VIOLATED"): ...
class EventTriggerProtocolViolated(OperationalError,
    code="39P03", name="EVENT_TRIGGER_PROTOCOL_VIOLATED"): ...

# Class 3B - Savepoint Exception
class SavepointException(OperationalError, code="3B000", name="SAVEPOINT_EXCEPTION"): ...
class InvalidSavepointSpecification(OperationalError,
    code="3B001", name="INVALID_SAVEPOINT_SPECIFICATION"): ...

# Class 3D - Invalid Catalog Name
class InvalidCatalogName(ProgrammingError, code="3D000", name="INVALID_CATALOG_NAME"): ...

# Class 3F - Invalid Schema Name
class InvalidSchemaName(ProgrammingError, code="3F000", name="INVALID_SCHEMA_NAME"): ...

# Class 40 - Transaction Rollback
class TransactionRollback(OperationalError, code="40000", name="TRANSACTION_ROLLBACK"): ...
class SerializationFailure(OperationalError, code="40001", name="SERIALIZATION_FAILURE"): ...
class TransactionIntegrityConstraintViolation(OperationalError,
    code="40002", name="TRANSACTION_INTEGRITY_CONSTRAINT_VIOLATION"): ...
class StatementCompletionUnknown(OperationalError, code="40003", name="STATEMENT_COMPLETION_UNKNOWN"): ...
class DeadlockDetected(OperationalError, code="40P01", name="DEADLOCK_DETECTED"): ...

# Class 42 - Syntax Error or Access Rule Violation
class SyntaxErrorOrAccessRuleViolation(ProgrammingError,
    code="42000", name="SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION"): ...
class InsufficientPrivilege(ProgrammingError, code="42501", name="INSUFFICIENT_PRIVILEGE"): ...
class SyntaxError(ProgrammingError, code="42601", name="SYNTAX_ERROR"): ...
class InvalidName(ProgrammingError, code="42602", name="INVALID_NAME"): ...
class InvalidColumnDefinition(ProgrammingError, code="42611", name="INVALID_COLUMN_DEFINITION"): ...
class NameTooLong(ProgrammingError, code="42622", name="NAME_TOO_LONG"): ...
class DuplicateColumn(ProgrammingError, code="42701", name="DUPLICATE_COLUMN"): ...
class AmbiguousColumn(ProgrammingError, code="42702", name="AMBIGUOUS_COLUMN"): ...
class UndefinedColumn(ProgrammingError, code="42703", name="UNDEFINED_COLUMN"): ...
class UndefinedObject(ProgrammingError, code="42704", name="UNDEFINED_OBJECT"): ...
class DuplicateObject(ProgrammingError, code="42710", name="DUPLICATE_OBJECT"): ...
class DuplicateAlias(ProgrammingError, code="42712", name="DUPLICATE_ALIAS"): ...
class DuplicateFunction(ProgrammingError, code="42723", name="DUPLICATE_FUNCTION"): ...
class AmbiguousFunction(ProgrammingError, code="42725", name="AMBIGUOUS_FUNCTION"): ...
class GroupingError(ProgrammingError, code="42803", name="GROUPING_ERROR"): ...
class DatatypeMismatch(ProgrammingError, code="42804", name="DATATYPE_MISMATCH"): ...
class WrongObjectType(ProgrammingError, code="42809", name="WRONG_OBJECT_TYPE"): ...
class InvalidForeignKey(ProgrammingError, code="42830", name="INVALID_FOREIGN_KEY"): ...
class CannotCoerce(ProgrammingError, code="42846", name="CANNOT_COERCE"): ...
class UndefinedFunction(ProgrammingError, code="42883", name="UNDEFINED_FUNCTION"): ...
class GeneratedAlways(ProgrammingError, code="428C9", name="GENERATED_ALWAYS"): ...
class ReservedName(ProgrammingError, code="42939", name="RESERVED_NAME"): ...
class UndefinedTable(ProgrammingError, code="42P01", name="UNDEFINED_TABLE"): ...
class UndefinedParameter(ProgrammingError, code="42P02", name="UNDEFINED_PARAMETER"): ...
class DuplicateCursor(ProgrammingError, code="42P03", name="DUPLICATE_CURSOR"): ...
class DuplicateDatabase(ProgrammingError, code="42P04", name="DUPLICATE_DATABASE"): ...
class DuplicatePreparedStatement(ProgrammingError, code="42P05", name="DUPLICATE_PREPARED_STATEMENT"): ...
class DuplicateSchema(ProgrammingError, code="42P06", name="DUPLICATE_SCHEMA"): ...
class DuplicateTable(ProgrammingError, code="42P07", name="DUPLICATE_TABLE"): ...
class AmbiguousParameter(ProgrammingError, code="42P08", name="AMBIGUOUS_PARAMETER"): ...
class AmbiguousAlias(ProgrammingError, code="42P09", name="AMBIGUOUS_ALIAS"): ...
class InvalidColumnReference(ProgrammingError, code="42P10", name="INVALID_COLUMN_REFERENCE"): ...
class InvalidCursorDefinition(ProgrammingError, code="42P11", name="INVALID_CURSOR_DEFINITION"): ...
class InvalidDatabaseDefinition(ProgrammingError, code="42P12", name="INVALID_DATABASE_DEFINITION"): ...
class InvalidFunctionDefinition(ProgrammingError, code="42P13", name="INVALID_FUNCTION_DEFINITION"): ...
class InvalidPreparedStatementDefinition(ProgrammingError,
    code="42P14", name="INVALID_PREPARED_STATEMENT_DEFINITION"): ...
class InvalidSchemaDefinition(ProgrammingError, code="42P15", name="INVALID_SCHEMA_DEFINITION"): ...
class InvalidTableDefinition(ProgrammingError, code="42P16", name="INVALID_TABLE_DEFINITION"): ...
class InvalidObjectDefinition(ProgrammingError, code="42P17", name="INVALID_OBJECT_DEFINITION"): ...
class IndeterminateDatatype(ProgrammingError, code="42P18", name="INDETERMINATE_DATATYPE"): ...
class InvalidRecursion(ProgrammingError, code="42P19", name="INVALID_RECURSION"): ...
class WindowingError(ProgrammingError, code="42P20", name="WINDOWING_ERROR"): ...
class CollationMismatch(ProgrammingError, code="42P21", name="COLLATION_MISMATCH"): ...
class IndeterminateCollation(ProgrammingError, code="42P22", name="INDETERMINATE_COLLATION"): ...

# Class 44 - WITH CHECK OPTION Violation
class WithCheckOptionViolation(ProgrammingError, code="44000", name="WITH_CHECK_OPTION_VIOLATION"): ...

# Class 53 - Insufficient Resources
class InsufficientResources(OperationalError, code="53000", name="INSUFFICIENT_RESOURCES"): ...
class DiskFull(OperationalError, code="53100", name="DISK_FULL"): ...
class OutOfMemory(OperationalError, code="53200", name="OUT_OF_MEMORY"): ...
class TooManyConnections(OperationalError, code="53300", name="TOO_MANY_CONNECTIONS"): ...
class ConfigurationLimitExceeded(OperationalError, code="53400", name="CONFIGURATION_LIMIT_EXCEEDED"): ...

# Class 54 - Program Limit Exceeded
class ProgramLimitExceeded(OperationalError, code="54000", name="PROGRAM_LIMIT_EXCEEDED"): ...
class StatementTooComplex(OperationalError, code="54001", name="STATEMENT_TOO_COMPLEX"): ...
class TooManyColumns(OperationalError, code="54011", name="TOO_MANY_COLUMNS"): ...
class TooManyArguments(OperationalError, code="54023", name="TOO_MANY_ARGUMENTS"): ...

# Class 55 - Object Not In Prerequisite State
class ObjectNotInPrerequisiteState(OperationalError,
    code="55000", name="OBJECT_NOT_IN_PREREQUISITE_STATE"): ...
class ObjectInUse(OperationalError, code="55006", name="OBJECT_IN_USE"): ...
class CantChangeRuntimeParam(OperationalError, code="55P02", name="CANT_CHANGE_RUNTIME_PARAM"): ...
class LockNotAvailable(OperationalError, code="55P03", name="LOCK_NOT_AVAILABLE"): ...
class UnsafeNewEnumValueUsage(OperationalError, code="55P04", name="UNSAFE_NEW_ENUM_VALUE_USAGE"): ...

# Class 57 - Operator Intervention
class OperatorIntervention(OperationalError, code="57000", name="OPERATOR_INTERVENTION"): ...
class QueryCanceled(OperationalError, code="57014", name="QUERY_CANCELED"): ...
class AdminShutdown(OperationalError, code="57P01", name="ADMIN_SHUTDOWN"): ...
class CrashShutdown(OperationalError, code="57P02", name="CRASH_SHUTDOWN"): ...
class CannotConnectNow(OperationalError, code="57P03", name="CANNOT_CONNECT_NOW"): ...
class DatabaseDropped(OperationalError, code="57P04", name="DATABASE_DROPPED"): ...
class IdleSessionTimeout(OperationalError, code="57P05", name="IDLE_SESSION_TIMEOUT"): ...

# Class 58 - System Error (errors external to PostgreSQL itself)
class SystemError(OperationalError, code="58000", name="SYSTEM_ERROR"): ...
class IoError(OperationalError, code="58030", name="IO_ERROR"): ...
class UndefinedFile(OperationalError, code="58P01", name="UNDEFINED_FILE"): ...
class DuplicateFile(OperationalError, code="58P02", name="DUPLICATE_FILE"): ...
class FileNameTooLong(OperationalError, code="58P03", name="FILE_NAME_TOO_LONG"): ...

# Class 72 - Snapshot Failure
class SnapshotTooOld(DatabaseError, code="72000", name="SNAPSHOT_TOO_OLD"): ...

# Class F0 - Configuration File Error
class ConfigFileError(OperationalError, code="F0000", name="CONFIG_FILE_ERROR"): ...
class LockFileExists(OperationalError, code="F0001", name="LOCK_FILE_EXISTS"): ...

# Class HV - Foreign Data Wrapper Error (SQL/MED)
class FdwError(OperationalError, code="HV000", name="FDW_ERROR"): ...
class FdwOutOfMemory(OperationalError, code="HV001", name="FDW_OUT_OF_MEMORY"): ...
class FdwDynamicParameterValueNeeded(OperationalError,
    code="HV002", name="FDW_DYNAMIC_PARAMETER_VALUE_NEEDED"): ...
class FdwInvalidDataType(OperationalError, code="HV004", name="FDW_INVALID_DATA_TYPE"): ...
class FdwColumnNameNotFound(OperationalError, code="HV005", name="FDW_COLUMN_NAME_NOT_FOUND"): ...
class FdwInvalidDataTypeDescriptors(OperationalError,
    code="HV006", name="FDW_INVALID_DATA_TYPE_DESCRIPTORS"): ...
class FdwInvalidColumnName(OperationalError, code="HV007", name="FDW_INVALID_COLUMN_NAME"): ...
class FdwInvalidColumnNumber(OperationalError, code="HV008", name="FDW_INVALID_COLUMN_NUMBER"): ...
class FdwInvalidUseOfNullPointer(OperationalError,
    code="HV009", name="FDW_INVALID_USE_OF_NULL_POINTER"): ...
class FdwInvalidStringFormat(OperationalError, code="HV00A", name="FDW_INVALID_STRING_FORMAT"): ...
class FdwInvalidHandle(OperationalError, code="HV00B", name="FDW_INVALID_HANDLE"): ...
class FdwInvalidOptionIndex(OperationalError, code="HV00C", name="FDW_INVALID_OPTION_INDEX"): ...
class FdwInvalidOptionName(OperationalError, code="HV00D", name="FDW_INVALID_OPTION_NAME"): ...
class FdwOptionNameNotFound(OperationalError, code="HV00J", name="FDW_OPTION_NAME_NOT_FOUND"): ...
class FdwReplyHandle(OperationalError, code="HV00K", name="FDW_REPLY_HANDLE"): ...
class FdwUnableToCreateExecution(OperationalError, code="HV00L", name="FDW_UNABLE_TO_CREATE_EXECUTION"): ...
class FdwUnableToCreateReply(OperationalError, code="HV00M", name="FDW_UNABLE_TO_CREATE_REPLY"): ...
class FdwUnableToEstablishConnection(OperationalError,
    code="HV00N", name="FDW_UNABLE_TO_ESTABLISH_CONNECTION"): ...
class FdwNoSchemas(OperationalError, code="HV00P", name="FDW_NO_SCHEMAS"): ...
class FdwSchemaNotFound(OperationalError, code="HV00Q", name="FDW_SCHEMA_NOT_FOUND"): ...
class FdwTableNotFound(OperationalError, code="HV00R", name="FDW_TABLE_NOT_FOUND"): ...
class FdwFunctionSequenceError(OperationalError, code="HV010", name="FDW_FUNCTION_SEQUENCE_ERROR"): ...
class FdwTooManyHandles(OperationalError, code="HV014", name="FDW_TOO_MANY_HANDLES"): ...
class FdwInconsistentDescriptorInformation(OperationalError,
    code="HV021", name="FDW_INCONSISTENT_DESCRIPTOR_INFORMATION"): ...
class FdwInvalidAttributeValue(OperationalError, code="HV024", name="FDW_INVALID_ATTRIBUTE_VALUE"): ...
class FdwInvalidStringLengthOrBufferLength(OperationalError,
    code="HV090", name="FDW_INVALID_STRING_LENGTH_OR_BUFFER_LENGTH"): ...
class FdwInvalidDescriptorFieldIdentifier(OperationalError,
    code="HV091", name="FDW_INVALID_DESCRIPTOR_FIELD_IDENTIFIER"): ...

# Class P0 - PL/pgSQL Error
class PlpgsqlError(ProgrammingError, code="P0000", name="PLPGSQL_ERROR"): ...
class RaiseException(ProgrammingError, code="P0001", name="RAISE_EXCEPTION"): ...
class NoDataFound(ProgrammingError, code="P0002", name="NO_DATA_FOUND"): ...
class TooManyRows(ProgrammingError, code="P0003", name="TOO_MANY_ROWS"): ...
class AssertFailure(ProgrammingError, code="P0004", name="ASSERT_FAILURE"): ...

# Class XX - Internal Error
class InternalError_(InternalError, code="XX000", name="INTERNAL_ERROR"): ...
class DataCorrupted(InternalError, code="XX001", name="DATA_CORRUPTED"): ...
class IndexCorrupted(InternalError, code="XX002", name="INDEX_CORRUPTED"): ...

# fmt: on
