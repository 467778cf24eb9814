// The graphql-http audit (GraphQL over HTTP spec conformance) against a running server.
// Usage: node audit.mjs http://127.0.0.1:8000/graphql
// Prints one JSON object: {"ok": n, "warn": n, "notice": n, "error": n, "problems": [{id, name, status, reason}]}.
import { auditServer } from "graphql-http";

const url = process.argv[2];
if (!url) {
  console.error("usage: node audit.mjs <graphql url>");
  process.exit(2);
}
const results = await auditServer({ url });
const counts = { ok: 0, warn: 0, notice: 0, error: 0 };
const problems = [];
for (const result of results) {
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  if (result.status !== "ok") {
    let body = null;
    try {
      body = result.response ? await result.response.text() : null;
    } catch {
      body = null;
    }
    problems.push({
      id: result.id,
      name: result.name,
      status: result.status,
      reason: result.reason,
      httpStatus: result.response?.status,
      body: body?.slice(0, 300),
    });
  }
}
console.log(JSON.stringify({ ...counts, total: results.length, problems }));
