// The action's main step: install ecr-login with the shared installer (checksum-verified,
// tool-cached), then log in. Inputs reach ecr-login only as environment variables; ecr-login
// itself masks every secret, writes the step outputs and records what the post step removes.
"use strict";

const path = require("node:path");
const { input, run, appendRunnerFile, root } = require("./run.js");

function main() {
  if (input("mask-password") === "false") {
    console.log("::warning::mask-password: false is ignored: ecr-login always masks passwords");
  }
  const install = run("sh", [path.join(root, "scripts", "install.sh")], {
    ECR_LOGIN_VERSION: input("version") || process.env.ECR_LOGIN_VERSION || "",
  }, { capture: true });
  if (install.status !== 0) {
    // The installer's own code, 9: ecr-login could not be installed (its error is above).
    console.log(`::error::ecr-login could not be installed (installer exit ${install.status}): see its error above`);
    return install.status || 9;
  }
  const bin = install.stdout.trim().split("\n").pop();
  appendRunnerFile("GITHUB_STATE", "bin", bin);

  let registries = input("registries");
  const type = input("registry-type") || "private";
  if (type !== "private" && type !== "public") {
    console.log(`::error::registry-type must be private or public, not ${JSON.stringify(type)}`);
    return 2;
  }
  if (type === "public" && !registries) {
    registries = "public.ecr.aws";
  }
  const env = {
    AWS_ROLE_ARN: input("role-to-assume"),
    AWS_REGION: input("aws-region") || process.env.AWS_REGION || "",
    ECR_LOGIN_REGISTRIES: registries,
    ECR_LOGIN_AUDIENCE: input("audience"),
    AWS_ROLE_SESSION_NAME: input("role-session-name"),
    ECR_LOGIN_ROLE_DURATION_SECONDS: input("role-duration-seconds"),
    ECR_LOGIN_OUTPUT_CREDENTIALS: input("output-credentials") === "true" ? "true" : "",
    ECR_LOGIN_INLINE_SESSION_POLICY: input("inline-session-policy"),
    ECR_LOGIN_MANAGED_SESSION_POLICIES: input("managed-session-policies"),
    ECR_LOGIN_ROLE_CHAINING: input("role-chaining") === "true" ? "true" : "",
    ECR_LOGIN_CHAIN_ROLE_ARN: input("chain-role-arn"),
    ECR_LOGIN_ROLE_EXTERNAL_ID: input("role-external-id"),
    ECR_LOGIN_ALLOWED_ACCOUNT_IDS: input("allowed-account-ids"),
    ECR_LOGIN_DUAL_STACK: input("dual-stack") === "true" ? "true" : "",
    ECR_LOGIN_PLATFORM: "github-actions",
  };
  if (input("http-proxy")) {
    env.HTTPS_PROXY = input("http-proxy");
  }
  // Only what was given: an empty value must not hide what the job's environment sets.
  for (const [k, v] of Object.entries(env)) {
    if (!v) delete env[k];
  }
  return run(bin, ["login"], env).status ?? 1;
}

try {
  process.exitCode = main();
} catch (e) {
  console.log(`::error::${e.message}`);
  process.exitCode = 1;
}
