// ecrLogout: removes the ECR logins from the agent's Docker config (or from dockerConfig), so that
// no ECR password outlives the build on a shared agent: the counterpart of ecrLogin, for a
// `post { always { ecrLogout() } }` section. (withEcrLogin needs none: it deletes its own Docker
// config directory.) Installs ecr-login like ecrLogin does (cached on the agent). Values reach
// the shell only through withEnv. Help text: ecrLogout.txt.

def call(Map config = [:]) {
    Map defaults = [
        // Registries to log out of: account ids, registry hosts, public.ecr.aws; a List or a
        // comma-separated String (ECR_LOGIN_REGISTRIES). Empty: every ECR registry in config.json.
        registries: [],
        // Directory of the config.json to clean (DOCKER_CONFIG). Empty: the agent's (~/.docker).
        dockerConfig: '',
        // ecr-login release to install (ECR_LOGIN_VERSION). Empty: the release the installer pins.
        version: '',
        // Where releases are downloaded from, e.g. an internal mirror (ECR_LOGIN_BASE_URL).
        baseUrl: '',
    ]
    Set unknown = config.keySet() - defaults.keySet()
    if (unknown) {
        error("ecrLogout: unknown option(s) ${unknown.join(', ')}; known: ${defaults.keySet().join(', ')}")
    }
    Map options = defaults + config
    if (!isUnix()) {
        error('ecrLogout: needs a Unix agent (Linux or macOS): the installer and ecr-login run in sh')
    }

    String binary = ecrLogin.install(options)
    List<String> logoutEnv = ["ECR_LOGIN_BIN=${binary}", 'ECR_LOGIN_PLATFORM=jenkins']
    logoutEnv.addAll(ecrLogin.settings([
        ECR_LOGIN_REGISTRIES: ecrLogin.commaList(options.registries),
        DOCKER_CONFIG: options.dockerConfig,
    ]))
    withEnv(logoutEnv) {
        sh(label: 'ecr-login: logout', script: '''
# ecr-login: logout (settings from withEnv only)
"$ECR_LOGIN_BIN" logout
''')
    }
}
