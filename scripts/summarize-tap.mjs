// Reads tap's output and the type check's result; prints the suite's last line: "N passed, N failed".
import { readFileSync } from 'node:fs';

const [file, typecheckFailed] = process.argv.slice(2);
const text = readFileSync(file, 'utf8');
const summary = [...text.matchAll(/^# \{ total: (\d+)(?:, pass: (\d+))?(?:, fail: (\d+))?.*\}$/gm)].pop();
let passed = summary ? Number(summary[2] ?? 0) : 0;
let failed = summary ? Number(summary[3] ?? 0) : 1;          // no summary at all: the run itself failed
if (!summary) console.log('tap printed no summary: the test run did not complete');
if (typecheckFailed === '1') failed += 1; else passed += 1;  // the type check counts as one test
console.log(`${passed} passed, ${failed} failed`);
