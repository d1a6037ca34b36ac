#!/usr/bin/env node
// The independent oracle of tests/blackbox/test_differential.py: ajv (JSON
// Schema draft 2020-12) gives its verdict on each case.
//
// stdin: one JSON document
//   {"schemas": [SCHEMA, ...], "cases": [[SCHEMA_INDEX, "BODY TEXT"], ...]}
// where BODY TEXT is the exact request body sent to moontide, so both sides
// read the same bytes (JSON.parse here, cJSON there).
// stdout: one JSON document
//   {"verdicts": [{"valid": true} | {"valid": false, "errors": [...]}, ...]}
// A body that JSON.parse rejects is {"valid": false, "errors": ["json: ..."]}.
// A schema that ajv cannot compile is an error (exit 2): the test's
// translation is wrong, not either validator.
"use strict";

const fs = require("fs");
const Ajv2020 = require("ajv/dist/2020");
const addFormats = require("ajv-formats");

function main() {
  const input = JSON.parse(fs.readFileSync(0, "utf8"));
  const ajv = new Ajv2020({
    strict: false,        // the translated schemas are plain; no strict-mode lint
    strictNumbers: true,  // NaN/Infinity are not JSON numbers
    allErrors: true,      // list every error, for the mismatch report
    unicodeRegExp: true,  // patterns as ECMA-262 with the "u" flag (JSON Schema's dialect)
    validateFormats: true,
  });
  addFormats(ajv, { mode: "full" });

  let validators;
  try {
    validators = input.schemas.map((schema) => ajv.compile(schema));
  } catch (e) {
    process.stderr.write(`ajv cannot compile a schema: ${e.message}\n`);
    process.exit(2);
  }

  const verdicts = input.cases.map(([index, body]) => {
    let instance;
    try {
      instance = JSON.parse(body);
    } catch (e) {
      return { valid: false, errors: [`json: ${e.message}`] };
    }
    const validate = validators[index];
    if (validate(instance)) return { valid: true };
    return {
      valid: false,
      errors: validate.errors.slice(0, 5).map((err) => `${err.instancePath || "/"} ${err.keyword}: ${err.message}`),
    };
  });
  process.stdout.write(JSON.stringify({ verdicts }));
}

main();
