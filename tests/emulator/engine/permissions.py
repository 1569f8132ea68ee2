"""Permission checks: HAS_PERMS_BY_NAME and who may CONNECT to an endpoint."""


def endpoint_connect_allowed(engine, principal_id, endpoint_id):
    """sysadmin, the endpoint owner, or a CONNECT / CONTROL grant (not denied) - tsql.md 1.2 / 3.5."""
    if engine.is_sysadmin(principal_id):
        return True
    row = engine.one('SELECT principal_id FROM endpoints WHERE endpoint_id = ?', (endpoint_id,))
    if row is None:
        return False
    if row[0] == principal_id:
        return True
    grantees = (principal_id, 2)   # the login itself and public
    states = [r[0] for r in engine.query(
        "SELECT state FROM server_permissions WHERE class = 105 AND major_id = ? AND type IN ('CO', 'CL') "
        "AND grantee_principal_id IN (?, ?)", (endpoint_id,) + grantees)]
    if 'D' in states:
        return False
    if 'G' in states or 'W' in states:
        return True
    return engine.one("SELECT 1 FROM server_permissions WHERE class = 100 AND type = 'CL' AND state IN ('G', 'W') "
                      "AND grantee_principal_id = ?", (principal_id,)) is not None


def has_perms_by_name(engine, session, securable, securable_class, permission):
    if permission is None:
        return None
    # HAS_PERMS_BY_NAME(NULL, NULL, 'perm') asks about the server (documented usage)
    cls = 'SERVER' if securable_class is None and securable is None else str(securable_class).upper()
    perm = str(permission).upper()
    pid = session.principal_id
    if cls == 'SERVER':
        if engine.is_sysadmin(pid):
            return 1
        from .grants import SERVER_PERMISSIONS
        code = SERVER_PERMISSIONS.get(perm)
        if code is None:
            return None
        return 1 if engine.one("SELECT 1 FROM server_permissions WHERE class = 100 AND type IN (?, 'CL') AND "
                               "state IN ('G', 'W') AND grantee_principal_id IN (?, 2)", (code, pid)) else 0
    if cls == 'ENDPOINT':
        row = engine.one('SELECT endpoint_id, principal_id FROM endpoints WHERE name = ?', (securable,))
        if row is None:
            return None
        if perm == 'CONNECT':
            return 1 if endpoint_connect_allowed(engine, pid, row[0]) else 0
        if engine.is_sysadmin(pid) or row[1] == pid:
            return 1
        from .grants import ENDPOINT_PERMISSIONS
        code = ENDPOINT_PERMISSIONS.get(perm)
        if code is None:
            return None
        return 1 if engine.one("SELECT 1 FROM server_permissions WHERE class = 105 AND major_id = ? AND "
                               "type IN (?, 'CL') AND state IN ('G', 'W') AND grantee_principal_id IN (?, 2)",
                               (row[0], code, pid)) else 0
    if cls == 'DATABASE':
        return 1 if engine.is_sysadmin(pid) else 0
    return None
