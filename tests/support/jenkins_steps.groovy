// A stand-in for the few Pipeline steps the ecr-login shared library (jenkins/) calls, so that
// tests/wrapper_jenkins.rs can run the library's real vars/*.groovy, unmodified, with plain
// Groovy: `sh` runs the script like durable-task does (written to a file, `sh -xe file`, the
// build's environment plus withEnv and withCredentials values, stderr to the build log),
// withCredentials binds `string`/`file` credentials from the spec, libraryResource reads
// resources/ with Jenkins' own refusals (a symlink anywhere in the library: SECURITY-3727).
// CPS is not emulated: this checks what the steps are called with, not serialization.
// A whole Jenkinsfile runs too (spec.jenkinsfile): Declarative's pipeline/agent/environment/
// stages/stage/steps/script/post sections and Scripted's node, each run in order (post's
// always/success/failure after the stages), with `env`, `checkout scm` a no-op.
//
// Usage: groovy jenkins_steps.groovy SPEC.json. The spec:
//   library: the library's root dir; workspace: the build's workspace; log: the build log file
//   env: the agent's and the build's environment (JENKINS_URL, JOB_NAME, ... PATH, HOME)
//   credentials: {id: {type: "string"|"file", secret: "..."}}
//   step: "ecrLogin" | "withEcrLogin" | "ecrLogout"; config: the step's map
//   body: for withEcrLogin, a sh script the block runs; bodyFails: the block then throws
//   jenkinsfile: instead of step, a Jenkinsfile to run (its @Library line already removed)
// Prints {"result": <what the step returned>, "error": <the error's message or null>}.

import groovy.json.JsonOutput
import groovy.json.JsonSlurper
import java.nio.file.Files
import java.nio.file.Path

class PipelineError extends RuntimeException {

    PipelineError(String message) {
        super(message)
    }

}

Map spec = new JsonSlurper().parse(new File(args[0])) as Map
File library = new File(spec.library as String)
File log = new File(spec.log as String)
List<Map> envStack = []
List<String> dirStack = [spec.workspace as String]
int scriptCount = 0

Closure currentEnv = {
    Map<String, String> e = [:]
    e.putAll(spec.env as Map)
    envStack.each { Map layer -> e.putAll(layer) }
    e
}
Closure resolve = { String path ->
    File f = new File(path)
    f.absolute ? f : new File(dirStack[-1], path)
}

Binding binding = new Binding()
GroovyShell shell = new GroovyShell(binding)

binding.setVariable('sh', { Object arg ->
    Map a = arg instanceof Map ? arg as Map : [script: arg.toString()]
    File tmp = new File(dirStack[-1] + '@tmp/durable-' + (scriptCount++))
    tmp.mkdirs()
    File script = new File(tmp, 'script.sh')
    script.text = a.script as String
    File cwd = new File(dirStack[-1])
    cwd.mkdirs()
    ProcessBuilder pb = new ProcessBuilder('sh', '-xe', script.path).directory(cwd)
    pb.environment().clear()
    pb.environment().putAll(currentEnv())
    pb.redirectError(ProcessBuilder.Redirect.appendTo(log))
    if (!a.returnStdout) {
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log))
    }
    Process p = pb.start()
    String out = a.returnStdout ? p.inputStream.getText('UTF-8') : ''
    int code = p.waitFor()
    tmp.deleteDir()
    if (code != 0) {
        throw new PipelineError("script returned exit code ${code}")
    }
    a.returnStdout ? out : null
})
binding.setVariable('withEnv', { List entries, Closure body ->
    Map layer = [:]
    entries.each { Object entry ->
        String s = entry.toString()
        int eq = s.indexOf('=')
        layer[s.substring(0, eq)] = s.substring(eq + 1)
    }
    envStack << layer
    try {
        body()
    } finally {
        envStack.removeLast()
    }
})
binding.setVariable('string', { Map a -> [kind: 'string'] + a })
binding.setVariable('file', { Map a -> [kind: 'file'] + a })
binding.setVariable('withCredentials', { List bindings, Closure body ->
    Map layer = [:]
    List<File> files = []
    bindings.each { Map b ->
        Map cred = (spec.credentials as Map)[b.credentialsId]
        if (cred == null || cred.type != b.kind) {
            throw new PipelineError("Could not find credentials entry with ID '${b.credentialsId}'")
        }
        if (b.kind == 'file') {
            File dir = new File(dirStack[-1] + '@tmp/secretFiles/' + UUID.randomUUID())
            dir.mkdirs()
            File f = new File(dir, 'token')
            f.text = cred.secret
            files << dir
            layer[b.variable] = f.path
        } else {
            layer[b.variable] = cred.secret
        }
    }
    envStack << layer
    try {
        body()
    } finally {
        envStack.removeLast()
        files.each { File d -> d.deleteDir() }
    }
})
binding.setVariable('pwd', { Map a = [:] -> a.tmp ? dirStack[-1] + '@tmp' : dirStack[-1] })
binding.setVariable('writeFile', { Map a ->
    File f = resolve(a.file as String)
    f.parentFile.mkdirs()
    f.setText(a.text as String, 'UTF-8')
})
binding.setVariable('libraryResource', { String name ->
    Path root = library.toPath()
    Files.walk(root).withCloseable { stream ->
        stream.each { Path p ->
            if (Files.isSymbolicLink(p)) {
                throw new PipelineError("Rejecting library: symlink found: ${root.relativize(p)}")
            }
        }
    }
    File resources = new File(library, 'resources')
    File f = new File(resources, name)
    if (!f.canonicalPath.startsWith(resources.canonicalPath + File.separator)) {
        throw new PipelineError("${name} references a file that is not contained within the library")
    }
    if (!f.exists()) {
        throw new PipelineError("No such library resource ${name} could be found.")
    }
    f.getText('UTF-8')
})
binding.setVariable('isUnix', { -> true })
binding.setVariable('error', { String message -> throw new PipelineError(message) })
binding.setVariable('echo', { String message -> log << message + '\n' })
binding.setVariable('dir', { String path, Closure body ->
    dirStack << resolve(path).path
    try {
        body()
    } finally {
        dirStack.removeLast()
    }
})
binding.setVariable('deleteDir', { -> new File(dirStack[-1]).deleteDir() })

// Each vars/<name>.groovy as Jenkins makes it: one object per global variable, called as a
// step (its call method) or for its other methods (ecrLogin.install(...)).
Map steps = [:]
['ecrLogin', 'withEcrLogin', 'ecrLogout'].each { String name ->
    Script s = shell.parse(new File(library, "vars/${name}.groovy"))
    s.binding = binding
    steps[name] = s
    binding.setVariable(name, s)
}

// Declarative and Scripted Pipeline, enough to run a Jenkinsfile in order.
Map buildEnv = [:]
envStack << buildEnv
binding.setVariable('env', buildEnv)
binding.setVariable('scm', [:])
binding.setVariable('checkout', { Object ignored -> null })
binding.setVariable('any', 'any')
binding.setVariable('none', 'none')
binding.setVariable('agent', { Object ignored -> null })
binding.setVariable('triggers', { Closure ignored -> null })
binding.setVariable('options', { Closure ignored -> null })
binding.setVariable('node', { Object... a -> (a[-1] as Closure).call() })
binding.setVariable('environment', { Closure body ->
    Map values = [:]
    body.delegate = values
    body.resolveStrategy = Closure.DELEGATE_FIRST
    body()
    values.each { k, v -> buildEnv[k as String] = v as String }
})
Map pipelineParts = [:]
binding.setVariable('stages', { Closure body -> pipelineParts.stages = body })
binding.setVariable('post', { Closure body -> pipelineParts.post = body })
binding.setVariable('stage', { String name, Closure body ->
    log << "[Pipeline] stage (${name})\n"
    body()
})
binding.setVariable('steps', { Closure body -> body() })
binding.setVariable('script', { Closure body -> body() })
String outcome = null
binding.setVariable('always', { Closure body -> body() })
binding.setVariable('success', { Closure body -> if (outcome == 'success') { body() } })
binding.setVariable('failure', { Closure body -> if (outcome == 'failure') { body() } })
binding.setVariable('pipeline', { Closure body ->
    body()
    PipelineError failed = null
    try {
        pipelineParts.stages?.call()
    } catch (PipelineError e) {
        failed = e
    }
    outcome = failed ? 'failure' : 'success'
    pipelineParts.post?.call()
    if (failed) {
        throw failed
    }
})

Map config = (spec.config ?: [:]) as Map
Object result = null
String failure = null
try {
    if (spec.jenkinsfile) {
        result = shell.evaluate(new File(spec.jenkinsfile as String))
    } else if (spec.step == 'withEcrLogin') {
        Closure body = {
            binding.getVariable('sh').call([script: spec.body ?: 'true'])
            if (spec.bodyFails) {
                throw new PipelineError('the block failed')
            }
            'block result'
        }
        result = steps.withEcrLogin.invokeMethod('call', [config, body] as Object[])
    } else {
        result = steps[spec.step].invokeMethod('call', [config] as Object[])
    }
} catch (PipelineError e) {
    failure = e.message
}
println JsonOutput.toJson([result: result, error: failure])
