// Shared by the action's main and post steps: read inputs the way the runner passes them,
// run programs without a shell (arguments never go through one), keep state for the post step.
"use strict";

const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const crypto = require("node:crypto");

/** An input as the runner passes it: INPUT_<NAME upper-cased, spaces as _>, trimmed. */
function input(name) {
  return (process.env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] || "").trim();
}

/** Runs `file args` with `env` added to this process's environment; returns the result. */
function run(file, args, env, { capture = false } = {}) {
  const result = spawnSync(file, args, {
    env: { ...process.env, ...env },
    stdio: capture ? ["ignore", "pipe", "inherit"] : ["ignore", "inherit", "inherit"],
    encoding: "utf8",
  });
  if (result.error) {
    throw new Error(`cannot run ${file}: ${result.error.message}`);
  }
  return result;
}

/** Appends name=value to a runner file ($GITHUB_STATE...) in its heredoc form. */
function appendRunnerFile(variable, name, value) {
  const file = process.env[variable];
  if (!file) return;
  const delim = `ECR_LOGIN_${crypto.randomBytes(8).toString("hex")}`;
  fs.appendFileSync(file, `${name}<<${delim}\n${value}\n${delim}\n`);
}

/** The action's root directory (where scripts/install.sh lives). */
const root = path.resolve(__dirname, "..");

module.exports = { input, run, appendRunnerFile, root };
