// ecrLogin: logs Docker in to Amazon ECR with ecr-login, in one step and with no stored AWS keys.
// Installs the pinned ecr-login release (checksum-verified, cached on the agent), then runs
// `ecr-login login` with the oidc-provider plugin's id token bound for that one command.
// Every value reaches the shell through withEnv, into single-quoted sh blocks: Groovy never
// interpolates a value into a script. Help text: ecrLogin.txt.
//
// Returns [registry: '<first registry host>', registries: ['<host>', ...], binary: '<path>'].

def call(Map config = [:]) {
    Map defaults = [
        // IAM role to assume (AWS_ROLE_ARN): with the id token when one is bound, else through
        // the agent's own AWS credential chain (sts:AssumeRole). Empty: no role, the chain's own
        // identity logs in.
        roleArn: '',
        // Region of account-id registries and of the default registry (AWS_REGION).
        // Empty: the agent's AWS_REGION / AWS_DEFAULT_REGION / profile.
        region: '',
        // Registries to log in to: account ids, registry hosts, public.ecr.aws; a List or a
        // comma-separated String (ECR_LOGIN_REGISTRIES). Empty: the role's own registry.
        registries: [],
        // ECR_LOGIN_AUDIENCE. A Jenkins token's aud is set on the credential itself (its
        // Audience field, conventionally sts.amazonaws.com): leave this empty on Jenkins.
        audience: '',
        // Id of an oidc-provider "OpenID Connect id token" credential (secret text). Bound to
        // ECR_LOGIN_ID_TOKEN for the login command only, and masked in the log.
        idTokenCredentialsId: '',
        // Id of an "OpenID Connect id token as file" credential. Bound to
        // AWS_WEB_IDENTITY_TOKEN_FILE for the login command only.
        idTokenFileCredentialsId: '',
        // ecr-login release to install (ECR_LOGIN_VERSION). Empty: the release the installer pins.
        version: '',
        // Where releases are downloaded from, e.g. an internal mirror (ECR_LOGIN_BASE_URL).
        baseUrl: '',
        // Directory of the config.json to write (DOCKER_CONFIG). Empty: the agent's (~/.docker).
        dockerConfig: '',
        // File ecr-login appends ECR_LOGIN_REGISTRY= / ECR_LOGIN_REGISTRY_HOSTS= lines to, for later
        // steps (ECR_LOGIN_ENV_FILE). Empty: a private temporary file, removed after the step.
        envFile: '',
        // An IAM policy (JSON) that narrows the session's permissions, e.g. pull from two
        // repositories only (ECR_LOGIN_INLINE_SESSION_POLICY).
        inlineSessionPolicy: '',
        // Managed policy ARNs that narrow the session: a List or a comma-separated String
        // (ECR_LOGIN_MANAGED_SESSION_POLICIES).
        managedSessionPolicies: [],
        // true: assume roleArn with the agent's AWS credentials even when an id token is bound
        // (ECR_LOGIN_ROLE_CHAINING).
        roleChaining: false,
        // Further roles, each assumed with the previous one's credentials after roleArn (e.g. in
        // another account): a List or a comma-separated String (ECR_LOGIN_CHAIN_ROLE_ARN).
        chainRoleArn: [],
        // The external id the chained roles require (ECR_LOGIN_ROLE_EXTERNAL_ID).
        roleExternalId: '',
        // Refuse to log in unless the identity is in one of these accounts: a List or a
        // comma-separated String (ECR_LOGIN_ALLOWED_ACCOUNT_IDS).
        allowedAccountIds: [],
        // true: also log in to the registries' IPv6 dual-stack hosts (ECR_LOGIN_DUAL_STACK).
        dualStack: false,
    ]
    Set unknown = config.keySet() - defaults.keySet()
    if (unknown) {
        error("ecrLogin: unknown option(s) ${unknown.join(', ')}; known: ${defaults.keySet().join(', ')}")
    }
    Map options = defaults + config
    if (options.idTokenCredentialsId && options.idTokenFileCredentialsId) {
        error('ecrLogin: set idTokenCredentialsId or idTokenFileCredentialsId, not both')
    }
    if (!isUnix()) {
        error('ecrLogin: needs a Unix agent (Linux or macOS): the installer and ecr-login run in sh')
    }

    String binary = install(options)
    String envText = login(options, binary)
    Map handedOn = parseEnvFile(envText)
    String registries = handedOn.ECR_LOGIN_REGISTRY_HOSTS ?: ''
    return [
        registry: handedOn.ECR_LOGIN_REGISTRY ?: '',
        registries: registries.tokenize(','),
        binary: binary,
    ]
}

// Runs the library's copy of scripts/install.sh; its last stdout line is the binary's path.
String install(Map options) {
    String installer = "${pwd(tmp: true)}/ecr-login-install.sh"
    writeFile(file: installer, text: libraryResource('ecr-login/install.sh'))
    List<String> installEnv = ["ECR_LOGIN_INSTALLER=${installer}"]
    installEnv.addAll(settings([
        ECR_LOGIN_VERSION: options.version,
        ECR_LOGIN_BASE_URL: options.baseUrl,
    ]))
    String out = ''
    withEnv(installEnv) {
        out = sh(label: 'ecr-login: install', returnStdout: true, script: '''
# ecr-login: install (the library's copy of scripts/install.sh; its last stdout line is the path)
sh "$ECR_LOGIN_INSTALLER" || {
  status=$?
  echo "ecr-login: could not be installed (exit $status; see the installer's error above)" >&2
  exit "$status"
}
''')
    }
    List<String> lines = out.trim().tokenize('\n')
    if (!lines) {
        error('ecrLogin: the installer printed no binary path')
    }
    return lines[-1].trim()
}

// Runs `ecr-login login` with the id token credential bound; returns the env file's lines.
String login(Map options, String binary) {
    List<String> loginEnv = ["ECR_LOGIN_BIN=${binary}", 'ECR_LOGIN_PLATFORM=jenkins']
    loginEnv.addAll(settings([
        AWS_ROLE_ARN: options.roleArn,
        AWS_REGION: options.region,
        ECR_LOGIN_REGISTRIES: commaList(options.registries),
        ECR_LOGIN_AUDIENCE: options.audience,
        DOCKER_CONFIG: options.dockerConfig,
        ECR_LOGIN_ENV_FILE: options.envFile,
        ECR_LOGIN_INLINE_SESSION_POLICY: options.inlineSessionPolicy,
        ECR_LOGIN_MANAGED_SESSION_POLICIES: commaList(options.managedSessionPolicies),
        ECR_LOGIN_ROLE_CHAINING: flag(options.roleChaining),
        ECR_LOGIN_CHAIN_ROLE_ARN: commaList(options.chainRoleArn),
        ECR_LOGIN_ROLE_EXTERNAL_ID: options.roleExternalId,
        ECR_LOGIN_ALLOWED_ACCOUNT_IDS: commaList(options.allowedAccountIds),
        ECR_LOGIN_DUAL_STACK: flag(options.dualStack),
    ]))
    List bindings = []
    if (options.idTokenCredentialsId) {
        bindings << string(credentialsId: options.idTokenCredentialsId, variable: 'ECR_LOGIN_ID_TOKEN')
        loginEnv << 'ECR_LOGIN_ID_TOKEN_ENV=ECR_LOGIN_ID_TOKEN'
    }
    if (options.idTokenFileCredentialsId) {
        bindings << file(credentialsId: options.idTokenFileCredentialsId, variable: 'AWS_WEB_IDENTITY_TOKEN_FILE')
    }
    String out = ''
    withCredentials(bindings) {
        withEnv(loginEnv) {
            out = sh(label: 'ecr-login: login', returnStdout: true, script: '''
# ecr-login: login (settings from withEnv only; prints the env file ecr-login appended to)
if [ -z "$ECR_LOGIN_ENV_FILE" ]; then
  ECR_LOGIN_ENV_FILE=$(mktemp)
  export ECR_LOGIN_ENV_FILE
  trap 'rm -f "$ECR_LOGIN_ENV_FILE"' EXIT
fi
"$ECR_LOGIN_BIN" login >&2
cat "$ECR_LOGIN_ENV_FILE"
''')
        }
    }
    return out
}

// NAME=value entries for the settings that are set: an empty value would hide the agent's own.
List<String> settings(Map values) {
    List<String> entries = []
    values.each { name, value ->
        if (value) {
            entries << "${name}=${value}".toString()
        }
    }
    return entries
}

// A List or a String, as the comma-separated list ecr-login takes (ECR_LOGIN_REGISTRIES...).
String commaList(Object values) {
    return [values ?: []].flatten().join(',')
}

// 'true' for true (or 'true'), else '' (not set): the string 'false' is no Groovy false.
String flag(Object value) {
    return value?.toString() == 'true' ? 'true' : ''
}

// KEY=value lines (ecr-login appends, so the last value of a key wins).
Map parseEnvFile(String text) {
    Map values = [:]
    text.tokenize('\n').each { line ->
        int eq = line.indexOf('=')
        if (eq > 0) {
            values[line.substring(0, eq).trim()] = line.substring(eq + 1).trim()
        }
    }
    return values
}
