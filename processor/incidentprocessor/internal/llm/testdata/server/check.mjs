#!/usr/bin/env node
// check.mjs — client half of check.sh: exercises a running server.mjs and
// validates the replies independently of the server's own validator.
//
//   node check.mjs http://127.0.0.1:PORT [runs]
const base = (process.argv[2] ?? "").replace(/\/+$/, "");
const runs = Number(process.argv[3] ?? 5);
if (!base) {
    console.error("usage: node check.mjs BASE_URL [runs]");
    process.exit(2);
}

const CLASSES = ["fork_storm", "cpu_spin", "cpu_limit_saturated", "memory_leak", "oom_risk", "oom_kill", "runaway_tree", "crash_loop", "short_job_flood", "io_saturation", "normal"];
const FACT_IDS = ["f1", "f2", "f3"];
const schema = {
    type: "object",
    properties: {
        class: { type: "string", enum: CLASSES },
        confidence: { type: "number", minimum: 0, maximum: 1 },
        summary: { type: "string", maxLength: 160 },
        root_cause: { type: "string", maxLength: 300 },
        cited_facts: { type: "array", items: { type: "string", enum: FACT_IDS }, maxItems: 5 },
        actions: { type: "array", items: { type: "string", maxLength: 120 }, maxItems: 3 },
    },
    required: ["class", "confidence", "summary", "root_cause", "cited_facts", "actions"],
    additionalProperties: false,
};
const messages = [
    { role: "system", content: "You are an SRE assistant. Classify the incident. Reply with JSON only." },
    { role: "user", content: "Facts:\nf1: pid 4242 (bash) forked 1800 children in 10s\nf2: load average 37.5\nf3: 96% of new processes exit within 50 ms\nWhich class is this?" },
];

let failures = 0;
function check(cond, msg) {
    if (!cond) {
        failures++;
        console.log("  FAIL: " + msg);
    }
    return cond;
}
const cp = (s) => [...s].length;
function validateReply(obj) {
    const errs = [];
    if (obj == null || typeof obj !== "object" || Array.isArray(obj)) return ["not an object"];
    const keys = Object.keys(obj).sort().join(",");
    if (keys !== [...schema.required].sort().join(",")) errs.push("keys: " + keys);
    if (!CLASSES.includes(obj.class)) errs.push("class: " + obj.class);
    if (typeof obj.confidence !== "number" || obj.confidence < 0 || obj.confidence > 1) errs.push("confidence: " + obj.confidence);
    if (typeof obj.summary !== "string" || cp(obj.summary) > 160) errs.push("summary");
    if (typeof obj.root_cause !== "string" || cp(obj.root_cause) > 300) errs.push("root_cause");
    if (!Array.isArray(obj.cited_facts) || obj.cited_facts.length > 5 || obj.cited_facts.some((f) => !FACT_IDS.includes(f))) errs.push("cited_facts");
    if (!Array.isArray(obj.actions) || obj.actions.length > 3 || obj.actions.some((a) => typeof a !== "string" || cp(a) > 120)) errs.push("actions");
    return errs;
}

async function post(body) {
    const t0 = performance.now();
    const res = await fetch(base + "/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
    });
    const json = await res.json();
    return { status: res.status, json, ms: performance.now() - t0, headers: res.headers };
}

// health + models
{
    const h = await fetch(base + "/health");
    check(h.status === 200 && (await h.json()).status === "ok", "/health");
    const m = await (await fetch(base + "/v1/models")).json();
    check(m.object === "list" && m.data?.[0]?.id, "/v1/models");
    console.log(`health ok, model id ${m.data?.[0]?.id}`);
}

// schema-constrained completions
const cases = [{ temperature: 0, seed: 0 }];
for (let i = 1; i < runs; i++) cases.push({ temperature: 0.8, seed: i });
const lat = [];
let firstSeeded;
for (const c of cases) {
    const r = await post({
        model: "linnix-tiny",
        messages,
        max_tokens: 1024,
        temperature: c.temperature,
        seed: c.seed,
        response_format: { type: "json_schema", json_schema: { name: "incident_classification", schema, strict: true } },
    });
    lat.push(r.ms);
    const ch = r.json.choices?.[0];
    const u = r.json.usage ?? {};
    console.log(`json_schema t=${c.temperature} seed=${c.seed}: HTTP ${r.status} ${r.ms.toFixed(0)} ms, finish=${ch?.finish_reason}, ` +
        `usage prompt=${u.prompt_tokens} completion=${u.completion_tokens} total=${u.total_tokens}, attempts=${r.headers.get("x-generation-attempts")}`);
    if (!check(r.status === 200, "status " + r.status + " " + JSON.stringify(r.json))) continue;
    check(r.json.object === "chat.completion" && typeof r.json.id === "string" && typeof r.json.created === "number", "envelope");
    check(ch.message?.role === "assistant" && ch.finish_reason === "stop", "choice/finish_reason");
    check(u.prompt_tokens > 0 && u.completion_tokens > 0 && u.total_tokens === u.prompt_tokens + u.completion_tokens, "usage");
    let obj;
    try {
        obj = JSON.parse(ch.message.content);
    } catch (e) {
        check(false, "content does not parse: " + e.message + ": " + ch.message.content);
        continue;
    }
    const errs = validateReply(obj);
    check(errs.length === 0, "schema: " + errs.join("; "));
    if (c === cases[1]) firstSeeded = ch.message.content;
    if (c === cases[0] || c === cases[1]) console.log("  content: " + ch.message.content);
}
lat.sort((a, b) => a - b);
console.log(`json_schema latency over ${lat.length} runs: min ${lat[0].toFixed(0)} ms, median ${lat[Math.floor(lat.length / 2)].toFixed(0)} ms, max ${lat[lat.length - 1].toFixed(0)} ms`);

// same seed -> same reply
if (firstSeeded) {
    const r = await post({
        messages, max_tokens: 1024, temperature: 0.8, seed: 1,
        response_format: { type: "json_schema", json_schema: { name: "incident_classification", schema, strict: true } },
    });
    check(r.json.choices?.[0]?.message?.content === firstSeeded, "same seed gives same reply");
}

// json_object
{
    const r = await post({ messages, max_tokens: 256, seed: 7, response_format: { type: "json_object" } });
    let ok = false;
    try { ok = typeof JSON.parse(r.json.choices[0].message.content) === "object"; } catch { /* */ }
    check(r.status === 200 && (ok || r.json.choices?.[0]?.finish_reason === "length"), "json_object reply parses");
    console.log(`json_object: HTTP ${r.status} ${r.ms.toFixed(0)} ms, content ${JSON.stringify(r.json.choices?.[0]?.message?.content)}`);
}

// max_tokens respected (plain text)
{
    const r = await post({ messages, max_tokens: 5, seed: 3 });
    check(r.status === 200 && r.json.usage.completion_tokens <= 5, "max_tokens respected");
    console.log(`text max_tokens=5: finish=${r.json.choices?.[0]?.finish_reason} completion_tokens=${r.json.usage?.completion_tokens}`);
}

// bad requests -> 400 with OpenAI-style error
for (const [name, body] of [
    ["no messages", { model: "x" }],
    ["bad role", { messages: [{ role: "robot", content: "hi" }] }],
    ["bad max_tokens", { messages, max_tokens: -1 }],
    ["bad response_format", { messages, response_format: { type: "xml" } }],
    ["json_schema without schema", { messages, response_format: { type: "json_schema", json_schema: { name: "x" } } }],
]) {
    const r = await post(body);
    check(r.status === 400 && r.json.error?.type === "invalid_request_error" && typeof r.json.error.message === "string", `400 for ${name}: got ${r.status}`);
}
{
    const res = await fetch(base + "/v1/chat/completions", { method: "POST", body: "{not json" });
    check(res.status === 400 && (await res.json()).error?.type === "invalid_request_error", "400 for malformed JSON");
}

console.log(failures === 0 ? "check: OK" : `check: ${failures} FAILURE(S)`);
process.exit(failures === 0 ? 0 : 1);
