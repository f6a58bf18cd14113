// The action's post step: log out of what the main step logged in to, so that a self-hosted
// runner keeps no registry credentials after the job (unless skip-logout).
"use strict";

const { input, run } = require("./run.js");

function post() {
  if (input("skip-logout") === "true") {
    console.log("skip-logout: keeping the ECR logins");
    return 0;
  }
  const bin = process.env.STATE_bin;
  const registries = process.env.STATE_registries;
  if (!bin || !registries) {
    console.log("nothing to log out of (the login did not complete)");
    return 0;
  }
  return run(bin, ["logout"], { ECR_LOGIN_REGISTRIES: registries }).status ?? 1;
}

try {
  process.exitCode = post();
} catch (e) {
  console.log(`::warning::logout failed: ${e.message}`);
  process.exitCode = 0;
}
