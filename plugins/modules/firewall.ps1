#!powershell

# Copyright: (c) mssql.hadr developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic

# Windows implementation of mssql.hadr.firewall (documentation: firewall.py). One Windows Defender
# Firewall rule per direction, found again by its rule name (ID): "<name> (inbound)" allows TCP to
# LocalPort from the partners, "<name> (outbound)" allows TCP to RemotePort on the partners. Rules
# live in the persistent store, so they survive a reboot.
# Not executed by the project's tests (no Windows host, no pwsh): checked for syntax only.

$spec = @{
    options = @{
        name = @{ type = 'str' }
        port = @{ type = 'int'; required = $true }
        state = @{ type = 'str'; default = 'present'; choices = 'present', 'absent' }
        direction = @{ type = 'str'; default = 'both'; choices = 'inbound', 'outbound', 'both' }
        remote_addresses = @{ type = 'list'; elements = 'str' }
        backend = @{ type = 'str'; default = 'auto'; choices = 'auto', 'firewalld', 'iptables', 'nftables', 'ufw' }
        zone = @{ type = 'str' }
        profiles = @{ type = 'list'; elements = 'str'; choices = 'domain', 'private', 'public' }
        description = @{ type = 'str' }
        nftables_existing_chains = @{ type = 'str'; default = 'insert'; choices = 'insert', 'fail' }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

# What differs between the two directions, in one place.
$directionTable = @{
    inbound = @{ Direction = 'Inbound'; PortParameter = 'LocalPort'; PortProperty = 'LocalPort' }
    outbound = @{ Direction = 'Outbound'; PortParameter = 'RemotePort'; PortProperty = 'RemotePort' }
}
$profileTable = @{ domain = 'Domain'; private = 'Private'; public = 'Public' }
$forbiddenNameCharacters = '["''\\`$\r\n\t]'

Function ConvertTo-CanonicalAddress {
    <# Canonical text of an address or network, as the Linux module writes it (host: bare address).
       Windows reports IPv4 networks as "a.b.c.d/255.255.0.0"; that form is accepted and converted. #>
    param([String]$Address)

    $text = $Address.Trim()
    if ($text -eq 'Any' -or $text -eq '*') {
        return 'any'
    }
    $parts = $text.Split('/')
    $ip = $null
    if ($parts.Count -gt 2 -or -not [System.Net.IPAddress]::TryParse($parts[0], [ref]$ip)) {
        throw "remote_addresses: '$Address' is not an IPv4/IPv6 address or CIDR network."
    }
    $bits = $ip.GetAddressBytes().Count * 8
    $prefix = $bits
    if ($parts.Count -eq 2) {
        $mask = $null
        if ($parts[1] -match '^\d+$') {
            $prefix = [int]$parts[1]
        }
        elseif ([System.Net.IPAddress]::TryParse($parts[1], [ref]$mask)) {
            $prefix = 0
            foreach ($byte in $mask.GetAddressBytes()) {
                $prefix += ([Convert]::ToString($byte, 2) -replace '0', '').Length
            }
        }
        else {
            throw "remote_addresses: '$Address' has an invalid prefix."
        }
        if ($prefix -lt 0 -or $prefix -gt $bits) {
            throw "remote_addresses: '$Address' has a prefix longer than $bits bits."
        }
    }
    # Host bits must be zero, as with the Linux module's strict check.
    $bytes = $ip.GetAddressBytes()
    for ($index = 0; $index -lt $bytes.Count; $index++) {
        $keep = [Math]::Max(0, [Math]::Min(8, $prefix - 8 * $index))
        $hostMask = (1 -shl (8 - $keep)) - 1
        if (($bytes[$index] -band $hostMask) -ne 0) {
            throw "remote_addresses: '$Address' has host bits set; write the network address or a single address."
        }
    }
    if ($prefix -eq $bits) {
        return $ip.ToString()
    }
    return '{0}/{1}' -f $ip.ToString(), $prefix
}

Function ConvertFrom-WindowsAddress {
    <# An address as Windows reports it; keywords such as LocalSubnet are kept as they are (they never
       match what the module writes, so such a rule is updated). #>
    param([String]$Address)

    try {
        return ConvertTo-CanonicalAddress -Address $Address
    }
    catch {
        return $Address
    }
}

Function Get-DesiredAddressList {
    param([Object[]]$Addresses)

    if (-not $Addresses -or $Addresses.Count -eq 0) {
        return , @('any')
    }
    $canonical = @($Addresses | ForEach-Object { ConvertTo-CanonicalAddress -Address $_ } | Sort-Object -Unique)
    if ($canonical -contains 'any' -and $canonical.Count -gt 1) {
        throw "remote_addresses: 'any' cannot be combined with other addresses."
    }
    return , $canonical
}

Function Get-RuleState {
    <# The named rule as a plain hashtable, or $null when it does not exist. #>
    param([String]$RuleId, [Hashtable]$Table)

    $rule = Get-NetFirewallRule -Name $RuleId -ErrorAction SilentlyContinue
    if (-not $rule) {
        return $null
    }
    $portFilter = $rule | Get-NetFirewallPortFilter
    $addressFilter = $rule | Get-NetFirewallAddressFilter
    return @{
        port = [String]$portFilter.($Table.PortProperty)
        protocol = [String]$portFilter.Protocol
        addresses = @($addressFilter.RemoteAddress | ForEach-Object { ConvertFrom-WindowsAddress -Address $_ } | Sort-Object -Unique)
        profiles = [String]$rule.Profile
        description = [String]$rule.Description
        action = [String]$rule.Action
        enabled = [String]$rule.Enabled
    }
}

Function Get-RuleList {
    <# The rule dictionaries the module returns (same shape as on Linux). #>
    param([String]$Direction, [Hashtable]$State)

    if (-not $State) {
        return , @()
    }
    $port = 0
    [void][int]::TryParse($State.port, [ref]$port)
    return , @($State.addresses | ForEach-Object {
            @{ direction = $Direction; port = $port; protocol = 'tcp'; remote_address = $_ }
        })
}

Function Test-RuleMatch {
    param([Hashtable]$Have, [Hashtable]$Want)

    foreach ($key in 'port', 'protocol', 'profiles', 'description', 'action', 'enabled') {
        if ($Have[$key] -ne $Want[$key]) {
            return $false
        }
    }
    return (($Have.addresses -join ',') -eq ($Want.addresses -join ','))
}

$name = $module.Params.name
if (-not $name) {
    $name = 'mssql.hadr endpoint {0}' -f $module.Params.port
}
if ($name.Length -gt 100 -or $name -match $forbiddenNameCharacters) {
    $module.FailJson("name: '$name' is not usable as a firewall rule name; use 1-100 characters without quotes, backslashes, backticks, `$ or line breaks.")
}
if ($module.Params.port -lt 1 -or $module.Params.port -gt 65535) {
    $module.FailJson(('port: {0} is not a TCP port; use 1-65535.' -f $module.Params.port))
}
try {
    $addresses = Get-DesiredAddressList -Addresses $module.Params.remote_addresses
}
catch {
    $module.FailJson($_.Exception.Message, $_)
}

$profiles = 'Any'
if ($module.Params.profiles) {
    $profiles = (@($module.Params.profiles | Sort-Object -Unique | ForEach-Object { $profileTable[$_] })) -join ', '
}
$description = $module.Params.description
if (-not $description) {
    $description = 'mssql.hadr: {0}' -f $name
}
$wanted = @('inbound', 'outbound')
if ($module.Params.direction -ne 'both') {
    $wanted = @($module.Params.direction)
}
if ($module.Params.state -eq 'absent') {
    $wanted = @()
}
$windowsAddresses = @($addresses | ForEach-Object { if ($_ -eq 'any') { 'Any' } else { $_ } })

$module.Result.backend = 'windows'
$module.Result.name = $name
$module.Result.commands = [System.Collections.ArrayList]@()
$module.Result.persistence = @('Windows Defender Firewall persistent store (PersistentStore)')
$module.Result.notes = [System.Collections.ArrayList]@()
$before = [System.Collections.ArrayList]@()
$after = [System.Collections.ArrayList]@()

foreach ($direction in 'inbound', 'outbound') {
    $table = $directionTable[$direction]
    $ruleId = '{0} ({1})' -f $name, $direction
    try {
        $have = Get-RuleState -RuleId $ruleId -Table $table
    }
    catch {
        $module.FailJson("Cannot read firewall rule '$ruleId': $($_.Exception.Message)", $_)
    }
    $before.AddRange((Get-RuleList -Direction $direction -State $have))

    $want = $null
    if ($wanted -contains $direction) {
        $want = @{
            port = [String]$module.Params.port; protocol = 'TCP'; addresses = $addresses; profiles = $profiles
            description = $description; action = 'Allow'; enabled = 'True'
        }
    }
    $after.AddRange((Get-RuleList -Direction $direction -State $want))

    $ruleParams = @{
        Protocol = 'TCP'
        RemoteAddress = $windowsAddresses
        Profile = $profiles.Split(',').Trim()
        Description = $description
        Action = 'Allow'
        Enabled = 'True'
        WhatIf = $module.CheckMode
    }
    $ruleParams[$table.PortParameter] = [String]$module.Params.port
    try {
        if ($have -and -not $want) {
            [void]$module.Result.commands.Add("Remove-NetFirewallRule -Name '$ruleId'")
            Remove-NetFirewallRule -Name $ruleId -WhatIf:$module.CheckMode
        }
        elseif ($want -and -not $have) {
            [void]$module.Result.commands.Add("New-NetFirewallRule -Name '$ruleId' -Direction $($table.Direction) -$($table.PortParameter) $($module.Params.port)")
            New-NetFirewallRule -Name $ruleId -DisplayName $ruleId -Group 'mssql.hadr' -Direction $table.Direction @ruleParams | Out-Null
        }
        elseif ($want -and -not (Test-RuleMatch -Have $have -Want $want)) {
            # Same name, other port or addresses: update in place, so the old port closes.
            [void]$module.Result.commands.Add("Set-NetFirewallRule -Name '$ruleId' -$($table.PortParameter) $($module.Params.port)")
            Set-NetFirewallRule -Name $ruleId @ruleParams
        }
    }
    catch {
        $module.FailJson("Windows Firewall refused to change rule '$ruleId': $($_.Exception.Message)", $_)
    }
}

$blocking = @(Get-NetFirewallProfile | Where-Object { $_.Enabled -and [String]$_.DefaultOutboundAction -eq 'Block' })
$module.Result.outbound_filtered = $blocking.Count -gt 0
if ($wanted -contains 'outbound' -and -not $module.Result.outbound_filtered) {
    [void]$module.Result.notes.Add('Windows Firewall allows outgoing traffic by default on this host, so the outbound rule changes nothing now; it keeps the port open if outgoing traffic is blocked later.')
}
if ($module.Params.zone) {
    [void]$module.Result.notes.Add('zone applies to firewalld only and was ignored.')
}
if ($module.Params.backend -ne 'auto') {
    [void]$module.Result.notes.Add('backend applies to Linux only and was ignored.')
}

$module.Result.changed = $module.Result.commands.Count -gt 0
$module.Result.rules = $after
$module.Diff.before = @{ rules = $before }
$module.Diff.after = @{ rules = $after }
$module.ExitJson()
