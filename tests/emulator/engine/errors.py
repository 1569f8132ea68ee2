"""SQL Server errors: number, severity and message text.

Templates come from /work/shared/reference/tsql.md; [V] ones are copied exactly. Where the
mapping of a situation to a number is our reading ([U]), the caller says so in a comment.
"""


class SqlError(Exception):
    """An error as SQL Server reports it (number, severity, state, message)."""

    def __init__(self, number, message, severity=16, state=1, aborts_batch=False):
        super().__init__('Msg %d, Level %d, State %d: %s' % (number, severity, state, message))
        self.number = number
        self.severity = severity
        self.state = state
        self.message = message
        # True for errors that end the whole batch (compile errors, conversion errors).
        self.aborts_batch = aborts_batch


def syntax_near(text, keyword):
    """102 (near a token) or 156 (near a reserved keyword), both severity 15."""
    if keyword:
        return SqlError(156, "Incorrect syntax near the keyword '%s'." % text, 15, aborts_batch=True)
    return SqlError(102, "Incorrect syntax near '%s'." % text, 15, aborts_batch=True)


def not_implemented(what):
    """Valid T-SQL that the emulator does not implement: never accepted silently."""
    return SqlError(50000, 'emulator: not implemented: %s' % what, 16, aborts_batch=True)


def cannot(verb, noun, name, number=15151):
    """15151: Cannot %S_MSG the %S_MSG '%.*ls', because it does not exist or you do not have permission."""
    return SqlError(number, "Cannot %s the %s '%s', because it does not exist or you do not have permission."
                    % (verb, noun, name))


def no_permission():
    return SqlError(15247, 'User does not have permission to perform this action.')


MESSAGES = {
    103: (15, 'The identifier that starts with \'%s\' is too long. Maximum length is 128.'),
    105: (15, "Unclosed quotation mark after the character string '%s'."),
    113: (15, "Missing end comment mark '*/'."),
    137: (15, 'Must declare the scalar variable "%s".'),
    195: (15, "'%s' is not a recognized built-in function name."),
    207: (16, "Invalid column name '%s'."),
    208: (16, "Invalid object name '%s'."),
    209: (16, "Ambiguous column name '%s'."),
    4104: (16, 'The multi-part identifier "%s" could not be bound.'),
    8155: (16, "No column name was specified for column %d of '%s'."),
    241: (16, 'Conversion failed when converting date and/or time from character string.'),
    245: (16, "Conversion failed when converting the %s value '%s' to data type %s."),
    574: (16, '%s statement not allowed within multi-statement transaction.'),
    911: (16, "Database '%s' does not exist. Make sure that the name is entered correctly."),
    3902: (16, 'The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.'),
    3903: (16, 'The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.'),
    4624: (16, 'Cannot grant, deny, or revoke permissions to sa, dbo, entity owner, information_schema, '
               'sys, or yourself.'),
    7860: (15, 'An endpoint\'s transport or content cannot be changed through the ALTER ENDPOINT statement. '
               'Use DROP ENDPOINT and execute the CREATE ENDPOINT statement to make these changes.'),
    7862: (16, 'An endpoint of the requested type already exists. Only one endpoint of this type is supported. '
               'Use ALTER ENDPOINT or DROP the existing endpoint and execute the CREATE ENDPOINT statement.'),
    7863: (16, 'The endpoint was not changed. The ALTER ENDPOINT statement did not contain any values to '
               'modify or update.'),
    7869: (16, "The endpoint name '%s' is reserved for used by SQL. Endpoint names cannot begin with '%s'."),
    7873: (16, "The endpoint '%s' is a built-in endpoint and cannot be dropped. Use the protocol configuration "
               "tools to ADD or DROP Transact-SQL endpoints."),
    7874: (16, 'An endpoint already exists with the bindings specified. Only one endpoint supported for a '
               'specific binding. Use ALTER ENDPOINT or DROP the existing endpoint and execute the CREATE '
               'ENDPOINT statement.'),
    7890: (16, "An error occurred while attempting to register the endpoint '%s'. One or more of the ports "
               "specified in the CREATE ENDPOINT statement may be bound to another process. Attempt the "
               "statement again with a different port or use netstat to find the application currently "
               "using the port and resolve the conflict."),
    7810: (15, "The value '%d' is not within range for the '%s' parameter."),
    15007: (16, "'%s' is not a valid login or you do not have permission."),
    15021: (16, 'Invalid value given for parameter %s. Specify a valid parameter value.'),
    15023: (16, "User, group, or role '%s' already exists in the current database."),
    15025: (16, "The server principal '%s' already exists."),
    15063: (16, 'The login already has an account under a different user name.'),
    15099: (16, 'The MUST_CHANGE option cannot be used when CHECK_EXPIRATION is OFF.'),
    15116: (16, 'Password validation failed. The password does not meet Windows policy '
                'requirements because it is too short.'),
    15117: (16, 'Password validation failed. The password does not meet Windows policy '
                'requirements because it is too long.'),
    15118: (16, 'Password validation failed. The password does not meet Windows policy '
                'requirements because it is not complex enough.'),
    15122: (16, 'The CHECK_EXPIRATION option cannot be used when CHECK_POLICY is OFF.'),
    15128: (16, 'The CHECK_POLICY and CHECK_EXPIRATION options cannot be turned OFF when MUST_CHANGE is ON.'),
    15138: (16, 'The database principal owns a %s in the database, and cannot be dropped.'),
    15141: (16, 'The server principal owns one or more %s(s) and cannot be dropped.'),
    15146: (16, 'An encryption password must be provided to encrypt the private key of this %s.'),
    15147: (16, 'No decryption password should be provided because the private key of this %s is encrypted '
                'by a master key.'),
    15151: (16, "Cannot %s the %s '%s', because it does not exist or you do not have permission."),
    15171: (16, 'Cannot use the parameter "%s" for a certificate or asymmetric key login.'),
    15208: (16, 'The certificate, asymmetric key, or private key file does not exist or has invalid format.'),
    15212: (16, 'Invalid certificate subject. The certificate subject must have between 1 and %d characters.'),
    15232: (16, "A certificate with name '%s' already exists or this certificate already has been added to the "
                "database."),
    15240: (16, "Cannot write into file '%s'. Verify that you have write permissions, that the file path is "
                "valid, and that the file does not already exist."),
    15246: (16, "Cannot dump the private key of certificate '%s' because the private key cannot be found."),
    15247: (16, 'User does not have permission to perform this action.'),
    15259: (16, 'The DEFAULT_SCHEMA clause cannot be used with a Windows group or with principals mapped to '
                'certificates or asymmetric keys.'),
    15297: (16, 'The certificate, asymmetric key, or private key data is invalid.'),
    15352: (16, 'The %s cannot be dropped because one or more entities are either signed or encrypted using '
                'it.'),
    15401: (11, "Windows NT user or group '%s' not found. Check the name again."),
    15407: (11, "'%s' is not a valid Windows NT name. Give the complete name: <domain\\username>."),
    15419: (16, 'Supplied parameter sid should be binary(16).'),
    15433: (16, 'Supplied parameter sid is in use.'),
    15434: (16, "Could not drop login '%s' as the user is currently logged in."),
    15464: (16, 'The private key format is not supported or the private key length is not valid.'),
    15465: (16, 'The private key password is invalid.'),
    15474: (16, 'Invalid private key. The private key does not match the public key of the %s.'),
    15578: (16, 'There is already a master key in the database. Please drop it before performing this '
                'statement.'),
    15580: (16, 'Cannot drop master key because %s \'%s\' is encrypted by it.'),
    15581: (16, 'Please create a master key in the database or open the master key in the session before '
                'performing this operation.'),
    15313: (16, 'The key is not encrypted using the specified decryptor.'),
    18456: (14, "Login failed for user '%s'."),
    28055: (16, "The certificate '%s' is not valid for endpoint authentication. The certificate must have a "
                "private key encrypted with the database master key and current UTC date has to be between "
                "the certificate start date and the certificate expiration date."),
}


def err(number, *args, state=1, aborts_batch=False):
    severity, template = MESSAGES[number]
    return SqlError(number, template % args if args else template, severity, state, aborts_batch)
