// withEcrLogin: like docker.withRegistry, for Amazon ECR. Logs in (ecrLogin) into a fresh,
// private Docker config directory made for this block, runs the block with DOCKER_CONFIG pointing
// at it, and deletes the directory afterwards, even when the block fails. Deleting it is the
// whole logout: the directory is new, so the credentials live only in its config.json (no
// credential store is configured in it), and nothing else is in it. Help text: withEcrLogin.txt.
//
// The block also sees ECR_LOGIN_REGISTRY (the first registry host) and ECR_LOGIN_REGISTRY_HOSTS
// (all of them, comma-separated). Returns what the block returns.

def call(Map config = [:], Closure body) {
    if (config.dockerConfig) {
        error('withEcrLogin: makes its own Docker config directory; use ecrLogin for dockerConfig')
    }
    String dockerConfig = ''
    withEnv(["ECR_LOGIN_TMP=${pwd(tmp: true)}"]) {
        dockerConfig = sh(label: 'ecr-login: docker config', returnStdout: true, script: '''
# ecr-login: docker config (a new private directory for this block; prints its path)
mkdir -p "$ECR_LOGIN_TMP"
mktemp -d "$ECR_LOGIN_TMP/ecr-login-docker.XXXXXX"
''').trim()
    }
    try {
        Map login = ecrLogin(config + [dockerConfig: dockerConfig])
        List<String> blockEnv = [
            "DOCKER_CONFIG=${dockerConfig}",
            "ECR_LOGIN_REGISTRY=${login.registry}",
            "ECR_LOGIN_REGISTRY_HOSTS=${login.registries.join(',')}",
        ]
        Object result = null
        withEnv(blockEnv) {
            result = body()
        }
        return result
    } finally {
        dir(dockerConfig) {
            deleteDir()
        }
    }
}
