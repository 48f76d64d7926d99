#!/usr/bin/env node
// server.mjs — minimal OpenAI-compatible chat-completions server backed by a
// real llama.cpp inference engine (node-llama-cpp, prebuilt CPU binary).
// Meant for integration tests of an LLM client, with the tiny random model
// written by make-model.mjs (gibberish text, but schema-valid JSON).
//
//   node server.mjs [--model PATH] [--port N] [--host ADDR]
//
// Env (flags win): LLM_MODEL_PATH, PORT (or LLM_PORT; 0 = pick a free port),
// LLM_HOST (127.0.0.1), LLM_MODEL_ID (linnix-tiny), LLM_THREADS (1),
// LLM_CONTEXT_SIZE (8192), LLM_BATCH_SIZE (512), LLM_SCHEMA_RETRIES (2),
// LLM_DEFAULT_MAX_STRING (256), LLM_DEFAULT_MAX_ITEMS (8), LLM_LOG_LEVEL (warn),
// LLM_LOG_REQUESTS (1). Flags: --model --port --host --model-id --threads
// --context-size --batch-size.
// Keep threads at 1: on a busy 2-core machine 2 threads make token generation ~10x slower.
//
// Endpoints: GET /health, GET /v1/models, POST /v1/chat/completions
// (also without the /v1 prefix).
import http from "node:http";
import crypto from "node:crypto";

// node-llama-cpp must never try to download or compile llama.cpp: the prebuilt
// @node-llama-cpp/linux-x64 binary is used (build: "never", skipDownload).
process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD ??= "true";
const { getLlama, LlamaCompletion, LlamaLogLevel, JinjaTemplateChatWrapper } = await import("node-llama-cpp");

// ---------------------------------------------------------------- config
function flag(name) {
    const i = process.argv.indexOf("--" + name);
    if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
    const eq = process.argv.find((a) => a.startsWith("--" + name + "="));
    return eq ? eq.slice(name.length + 3) : undefined;
}
function intConf(v, def) {
    if (v == null || v === "") return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`invalid integer setting: ${v}`);
    return n;
}
const cfg = {
    modelPath: flag("model") ?? process.env.LLM_MODEL_PATH ?? process.argv.slice(2).find((a) => a.endsWith(".gguf")),
    port: intConf(flag("port") ?? process.env.PORT ?? process.env.LLM_PORT, 8089),
    host: flag("host") ?? process.env.LLM_HOST ?? "127.0.0.1",
    modelId: flag("model-id") ?? process.env.LLM_MODEL_ID ?? "linnix-tiny",
    threads: intConf(flag("threads") ?? process.env.LLM_THREADS, 1),
    contextSize: intConf(flag("context-size") ?? process.env.LLM_CONTEXT_SIZE, 8192),
    batchSize: intConf(flag("batch-size") ?? process.env.LLM_BATCH_SIZE, 512),
    schemaRetries: intConf(process.env.LLM_SCHEMA_RETRIES, 2),
    logLevel: process.env.LLM_LOG_LEVEL ?? "warn",
    logRequests: (process.env.LLM_LOG_REQUESTS ?? "1") !== "0",
};
if (!cfg.modelPath) {
    console.error("usage: node server.mjs --model PATH.gguf [--port N]   (or LLM_MODEL_PATH / PORT env)");
    process.exit(2);
}
const log = (...a) => console.error(new Date().toISOString(), ...a);

// ---------------------------------------------------------------- engine
const tStart = Date.now();
const llama = await getLlama({
    gpu: false,
    build: "never",
    skipDownload: true,
    usePrebuiltBinaries: true,
    maxThreads: cfg.threads,
    logLevel: LlamaLogLevel[cfg.logLevel] ?? LlamaLogLevel.warn,
    progressLogs: false,
});
const model = await llama.loadModel({ modelPath: cfg.modelPath, gpuLayers: 0, useMmap: true });
const context = await model.createContext({
    contextSize: cfg.contextSize,
    batchSize: Math.min(cfg.batchSize, cfg.contextSize),
    threads: cfg.threads,
    sequences: 1,
    flashAttention: false, // faster generation for this model; prompt eval is fast either way
});
const template = model.fileInfo.metadata?.tokenizer?.chat_template;
if (typeof template !== "string") throw new Error("model has no tokenizer.chat_template");
const chatWrapper = new JinjaTemplateChatWrapper({ template });
log(`engine ready in ${Date.now() - tStart} ms: ${cfg.modelPath} (build ${llama.buildType}, gpu ${llama.gpu}, ` +
    `threads ${cfg.threads}, ctx ${context.contextSize}, batch ${context.batchSize})`);

// ---------------------------------------------------------------- helpers
class HttpError extends Error {
    constructor(status, message, { type = "invalid_request_error", param = null, code = null } = {}) {
        super(message);
        Object.assign(this, { status, type, param, code });
    }
}
const bad = (message, param = null, code = null) => new HttpError(400, message, { param, code });

function sendJson(res, status, body, headers = {}) {
    const data = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(data), ...headers });
    res.end(data);
}
function sendError(res, err) {
    const status = err instanceof HttpError ? err.status : 500;
    const type = err instanceof HttpError ? err.type : "server_error";
    if (status >= 500) log("internal error:", err);
    sendJson(res, status, { error: { message: String(err.message ?? err), type, param: err.param ?? null, code: err.code ?? null } });
}
const MAX_BODY = 4 * 1024 * 1024;
function readBody(req) {
    return new Promise((resolve, reject) => {
        const chunks = [];
        let size = 0;
        req.on("data", (c) => {
            size += c.length;
            if (size > MAX_BODY) {
                reject(new HttpError(413, "request body too large"));
                req.destroy();
            } else chunks.push(c);
        });
        req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        req.on("error", reject);
    });
}

// one generation at a time (single context, single inference thread)
let queue = Promise.resolve();
function serialized(fn) {
    const run = queue.then(fn, fn);
    queue = run.catch(() => {});
    return run;
}

// ---------------------------------------------------------------- request -> chat history
function messageText(m, i) {
    const c = m.content;
    if (typeof c === "string") return c;
    if (c == null) return "";
    if (Array.isArray(c))
        return c.map((p) => {
            if (p && p.type === "text" && typeof p.text === "string") return p.text;
            throw bad(`messages[${i}].content: only text parts are supported`, `messages[${i}].content`);
        }).join("");
    throw bad(`messages[${i}].content must be a string or an array of text parts`, `messages[${i}].content`);
}
function toChatHistory(messages) {
    if (!Array.isArray(messages) || messages.length === 0) throw bad("'messages' must be a non-empty array", "messages");
    const history = [];
    messages.forEach((m, i) => {
        if (m == null || typeof m !== "object") throw bad(`messages[${i}] must be an object`, `messages[${i}]`);
        const text = messageText(m, i);
        switch (m.role) {
            case "system":
            case "developer":
                history.push({ type: "system", text });
                break;
            case "user":
                history.push({ type: "user", text });
                break;
            case "assistant":
                history.push({ type: "model", response: [text] });
                break;
            default:
                throw bad(`messages[${i}].role '${m.role}' is not supported (use system, developer, user, assistant)`, `messages[${i}].role`);
        }
    });
    history.push({ type: "model", response: [] }); // generation prompt
    return history;
}

// ---------------------------------------------------------------- JSON schema support
// node-llama-cpp's JSON-schema grammar supports: type (incl. arrays of basic types), enum, const,
// oneOf, $ref/$defs, properties (every listed property is always emitted), additionalProperties,
// minProperties/maxProperties, items, prefixItems, minItems/maxItems, minLength/maxLength and
// format date/time/date-time. We lower common OpenAI-schema constructs onto that:
//   anyOf -> oneOf; allOf with one member -> that member; "type": [..] -> oneOf per type;
//   number/integer with a finite minimum AND maximum -> enum of <=101 evenly spaced values
//   inside the range; unsupported formats and annotations are dropped.
// Every string, array and open object is bounded so that generation always terminates (a random
// model may otherwise loop inside a string forever): strings without maxLength get
// maxLength LLM_DEFAULT_MAX_STRING (256), arrays without maxItems get LLM_DEFAULT_MAX_ITEMS (8)
// (never below minLength/minItems), and open objects (additionalProperties) only get their listed
// properties unless minProperties needs more (then exactly minProperties, with unbounded keys).
// `pattern` cannot be expressed in node-llama-cpp's schema grammar: replies are validated
// afterwards and regenerated (seed+1, ...) up to LLM_SCHEMA_RETRIES times; prefer `enum`.
const DEFAULT_MAX_STRING = intConf(process.env.LLM_DEFAULT_MAX_STRING, 256);
const DEFAULT_MAX_ITEMS = intConf(process.env.LLM_DEFAULT_MAX_ITEMS, 8);
const DROP_KEYS = new Set(["title", "description", "$schema", "$id", "examples", "default", "strict", "$comment",
    "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "required", "readOnly",
    "writeOnly", "deprecated", "contentEncoding", "contentMediaType", "uniqueItems", "propertyNames", "patternProperties"]);
function numberGrid(s) {
    const isInt = s.type === "integer";
    let lo = s.minimum, hi = s.maximum;
    if (typeof s.exclusiveMinimum === "number") lo = lo == null ? s.exclusiveMinimum : Math.max(lo, s.exclusiveMinimum);
    if (typeof s.exclusiveMaximum === "number") hi = hi == null ? s.exclusiveMaximum : Math.min(hi, s.exclusiveMaximum);
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi < lo) return null;
    const ok = (v) => !(typeof s.exclusiveMinimum === "number" && v <= s.exclusiveMinimum) &&
        !(typeof s.exclusiveMaximum === "number" && v >= s.exclusiveMaximum) &&
        !(s.exclusiveMinimum === true && v <= s.minimum) && !(s.exclusiveMaximum === true && v >= s.maximum) &&
        !(typeof s.multipleOf === "number" && Math.abs(v / s.multipleOf - Math.round(v / s.multipleOf)) > 1e-9);
    let values = [];
    if (isInt) {
        const a = Math.ceil(lo), b = Math.floor(hi);
        const step = Math.max(1, Math.ceil((b - a) / 100));
        for (let v = a; v <= b; v += step) values.push(v);
    } else {
        const step = (hi - lo) / 100;
        const decimals = Math.min(12, Math.max(0, -Math.floor(Math.log10(step || 1)) + 1));
        for (let i = 0; i <= 100; i++) values.push(Number((lo + step * i).toFixed(decimals)));
    }
    values = [...new Set(values.filter((v) => v >= lo && v <= hi && ok(v)))];
    return values.length > 0 ? values : null;
}
function lowerSchema(s) {
    if (Array.isArray(s)) return s.map(lowerSchema);
    if (s == null || typeof s !== "object") return s;
    if (Array.isArray(s.allOf) && s.allOf.length === 1) {
        const { allOf, ...rest } = s;
        return lowerSchema({ ...rest, ...allOf[0] });
    }
    if (Array.isArray(s.type) && s.enum == null && s.const == null) {
        if (s.type.length === 1) return lowerSchema({ ...s, type: s.type[0] });
        return { oneOf: s.type.map((t) => lowerSchema({ ...s, type: t })) };
    }
    if ((s.type === "number" || s.type === "integer") && s.enum == null && s.const == null) {
        const grid = numberGrid(s);
        if (grid) return { enum: grid };
    }
    const out = {};
    for (const [k, v] of Object.entries(s)) {
        if (DROP_KEYS.has(k)) continue;
        if (k === "format" && !["date", "time", "date-time"].includes(v)) continue;
        if (k === "anyOf" || k === "oneOf") out.oneOf = lowerSchema(v);
        else if (k === "properties" || k === "$defs" || k === "definitions")
            out[k === "definitions" ? "$defs" : k] = Object.fromEntries(Object.entries(v ?? {}).map(([pk, pv]) => [pk, lowerSchema(pv)]));
        else if (k === "$ref" && typeof v === "string") out.$ref = v.replace("#/definitions/", "#/$defs/");
        else if (k === "additionalProperties" && typeof v !== "object") out[k] = v;
        else out[k] = lowerSchema(v);
    }
    if (out.enum == null && !("const" in out) && out.$ref == null && out.oneOf == null) {
        if (out.type === "string" && out.format == null && out.maxLength == null)
            out.maxLength = Math.max(out.minLength ?? 0, DEFAULT_MAX_STRING);
        if (out.type === "array" && out.maxItems == null)
            out.maxItems = Math.max(out.minItems ?? 0, out.prefixItems?.length ?? 0, DEFAULT_MAX_ITEMS);
        if (out.type === "object" && out.additionalProperties != null && out.additionalProperties !== false) {
            // node-llama-cpp leaves the keys of additional properties unbounded; since every listed
            // property is always emitted, omitting additional ones is still valid unless
            // minProperties asks for more.
            const named = Object.keys(out.properties ?? {}).length;
            if ((out.minProperties ?? 0) <= named) {
                out.additionalProperties = false;
                delete out.minProperties;
                delete out.maxProperties;
            } else if (out.maxProperties == null) out.maxProperties = out.minProperties;
        }
    }
    return out;
}

// Small JSON-schema validator (the subset above + pattern, numeric bounds, required).
function validate(value, schema, root = schema, path = "$", errors = []) {
    if (schema === true || schema == null) return errors;
    if (schema === false) { errors.push(`${path}: not allowed`); return errors; }
    if (schema.$ref) {
        const name = schema.$ref.replace(/^#\/(\$defs|definitions)\//, "");
        return validate(value, (root.$defs ?? root.definitions ?? {})[name], root, path, errors);
    }
    const typeOf = (v) => v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v;
    if (schema.type != null) {
        const types = Array.isArray(schema.type) ? schema.type : [schema.type];
        const t = typeOf(value);
        if (!types.some((x) => x === t || (x === "number" && t === "integer"))) errors.push(`${path}: expected ${types.join("|")}, got ${t}`);
    }
    if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) errors.push(`${path}: not in enum`);
    if ("const" in schema && JSON.stringify(schema.const) !== JSON.stringify(value)) errors.push(`${path}: != const`);
    for (const key of ["anyOf", "oneOf"])
        if (Array.isArray(schema[key]) && !schema[key].some((alt) => validate(value, alt, root, path, []).length === 0))
            errors.push(`${path}: matches no ${key} alternative`);
    if (Array.isArray(schema.allOf)) for (const sub of schema.allOf) validate(value, sub, root, path, errors);
    if (typeof value === "string") {
        const len = [...value].length;
        if (schema.minLength != null && len < schema.minLength) errors.push(`${path}: shorter than ${schema.minLength}`);
        if (schema.maxLength != null && len > schema.maxLength) errors.push(`${path}: longer than ${schema.maxLength}`);
        if (schema.pattern != null && !new RegExp(schema.pattern, "u").test(value)) errors.push(`${path}: does not match ${schema.pattern}`);
    }
    if (typeof value === "number") {
        if (schema.minimum != null && value < schema.minimum) errors.push(`${path}: < minimum`);
        if (schema.maximum != null && value > schema.maximum) errors.push(`${path}: > maximum`);
        if (typeof schema.exclusiveMinimum === "number" && value <= schema.exclusiveMinimum) errors.push(`${path}: <= exclusiveMinimum`);
        if (typeof schema.exclusiveMaximum === "number" && value >= schema.exclusiveMaximum) errors.push(`${path}: >= exclusiveMaximum`);
    }
    if (Array.isArray(value)) {
        if (schema.minItems != null && value.length < schema.minItems) errors.push(`${path}: fewer than ${schema.minItems} items`);
        if (schema.maxItems != null && value.length > schema.maxItems) errors.push(`${path}: more than ${schema.maxItems} items`);
        value.forEach((v, i) => {
            const sub = schema.prefixItems?.[i] ?? schema.items;
            if (sub != null) validate(v, sub, root, `${path}[${i}]`, errors);
        });
    }
    if (value && typeof value === "object" && !Array.isArray(value)) {
        for (const r of schema.required ?? []) if (!(r in value)) errors.push(`${path}: missing required '${r}'`);
        for (const [k, v] of Object.entries(value)) {
            if (schema.properties && k in schema.properties) validate(v, schema.properties[k], root, `${path}.${k}`, errors);
            else if (schema.additionalProperties === false) errors.push(`${path}: unexpected property '${k}'`);
            else if (typeof schema.additionalProperties === "object") validate(v, schema.additionalProperties, root, `${path}.${k}`, errors);
        }
    }
    return errors;
}

// json_object: node-llama-cpp's built-in "json" grammar (and open-object schemas) leave keys and
// strings unbounded, so a random model can loop inside a string until max_tokens. This bounded
// GBNF accepts any flat JSON object with <= 8 keys (<= 32 chars) and strings <= LLM_DEFAULT_MAX_STRING.
const JSON_OBJECT_GBNF = String.raw`
root ::= "{" ws ( pair ( "," ws pair ){0,7} )? ws "}"
pair ::= key ws ":" ws value
key ::= "\"" [a-zA-Z_] [a-zA-Z0-9_]{0,31} "\""
value ::= string | number | "true" | "false" | "null"
string ::= "\"" char{0,${DEFAULT_MAX_STRING}} "\""
char ::= [^"\\\x7F\x00-\x1F] | "\\" ["\\/bfnrt] | "\\u" [0-9a-fA-F]{4}
number ::= "-"? ("0" | [1-9] [0-9]{0,15}) ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})?
ws ::= [ ]?
`;
let jsonObjectGrammar;
const grammarCache = new Map();
async function grammarForSchema(schema) {
    const key = JSON.stringify(schema);
    let g = grammarCache.get(key);
    if (!g) {
        try {
            g = await llama.createGrammarForJsonSchema(lowerSchema(schema));
        } catch (err) {
            throw bad(`unsupported response_format.json_schema.schema: ${err.message}`, "response_format");
        }
        if (grammarCache.size >= 64) grammarCache.delete(grammarCache.keys().next().value);
        grammarCache.set(key, g);
    }
    return g;
}

// ---------------------------------------------------------------- chat completions
function num(body, name, { min = -Infinity, max = Infinity, int = false } = {}) {
    const v = body[name];
    if (v == null) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v)))
        throw bad(`'${name}' must be ${int ? "an integer" : "a number"} in [${min}, ${max}]`, name);
    return v;
}

async function chatCompletion(body) {
    if (body == null || typeof body !== "object" || Array.isArray(body)) throw bad("request body must be a JSON object");
    if (body.model != null && typeof body.model !== "string") throw bad("'model' must be a string", "model");
    if (body.stream) throw bad("'stream' is not supported by this test server", "stream");
    const n = num(body, "n", { min: 1, max: 1, int: true });
    void n;
    const maxTokens = num(body, "max_completion_tokens", { min: 1, int: true }) ?? num(body, "max_tokens", { min: 1, int: true });
    const temperature = num(body, "temperature", { min: 0, max: 2 }) ?? 1;
    const topP = num(body, "top_p", { min: 0, max: 1 });
    const seed = num(body, "seed", { int: true });
    let stop = body.stop;
    if (stop != null) {
        if (typeof stop === "string") stop = [stop];
        if (!Array.isArray(stop) || stop.length > 4 || stop.some((s) => typeof s !== "string" || s === ""))
            throw bad("'stop' must be a string or an array of up to 4 non-empty strings", "stop");
    }

    let grammar, schema = null, mode = "text";
    const rf = body.response_format;
    if (rf != null) {
        if (typeof rf !== "object" || typeof rf.type !== "string") throw bad("'response_format' must be an object with a 'type'", "response_format");
        if (rf.type === "json_schema") {
            const js = rf.json_schema;
            if (js == null || typeof js !== "object") throw bad("'response_format.json_schema' is required for type json_schema", "response_format.json_schema");
            if (typeof js.name !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(js.name))
                throw bad("'response_format.json_schema.name' must match ^[a-zA-Z0-9_-]{1,64}$", "response_format.json_schema.name");
            if (js.schema == null || typeof js.schema !== "object" || Array.isArray(js.schema))
                throw bad("'response_format.json_schema.schema' must be a JSON schema object", "response_format.json_schema.schema");
            schema = js.schema;
            grammar = await grammarForSchema(schema);
            mode = "json_schema";
        } else if (rf.type === "json_object") {
            grammar = jsonObjectGrammar ??= await llama.createGrammar({ grammar: JSON_OBJECT_GBNF });
            mode = "json_object";
        } else if (rf.type !== "text") {
            throw bad(`response_format.type '${rf.type}' is not supported (text, json_object, json_schema)`, "response_format.type");
        }
    }

    const history = toChatHistory(body.messages);
    const { contextText } = chatWrapper.generateContextState({ chatHistory: history });
    const promptTokens = contextText.tokenize(model.tokenizer);
    if (promptTokens.length >= context.contextSize - 1)
        throw bad(`This model's maximum context length is ${context.contextSize} tokens, but the messages take ` +
            `${promptTokens.length} tokens (raise LLM_CONTEXT_SIZE)`, "messages", "context_length_exceeded");
    const limit = Math.min(maxTokens ?? Infinity, context.contextSize - promptTokens.length);

    return serialized(async () => {
        let attempt = 0, result;
        for (;;) {
            const sequence = context.getSequence(); // fresh, empty sequence: requests are independent
            const completion = new LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
            let completionTokens = 0;
            const t0 = Date.now();
            try {
                const r = await completion.generateCompletionWithMeta(promptTokens, {
                    maxTokens: limit,
                    temperature,
                    topP,
                    seed: seed != null ? seed + attempt : crypto.randomInt(2 ** 31),
                    grammar,
                    customStopTriggers: stop,
                    repeatPenalty: false,
                    disableContextShift: true,
                    contextShiftSize: 1,
                    onToken: (t) => { completionTokens += t.length; },
                });
                result = { text: r.response, stopReason: r.metadata.stopReason, completionTokens, ms: Date.now() - t0 };
            } finally {
                completion.dispose({ disposeSequence: false });
                sequence.dispose();
            }
            result.valid = true;
            if (mode !== "text" && result.stopReason !== "maxTokens") {
                try {
                    const parsed = JSON.parse(result.text);
                    if (schema) result.errors = validate(parsed, schema);
                    result.valid = !result.errors?.length;
                } catch (e) {
                    result.valid = false;
                    result.errors = [String(e.message)];
                }
            }
            if (result.valid || mode !== "json_schema" || attempt >= cfg.schemaRetries) break;
            log(`schema validation failed (attempt ${attempt + 1}): ${result.errors.slice(0, 3).join("; ")} — retrying`);
            attempt++;
        }
        result.attempts = attempt + 1;
        return result;
    }).then((r) => {
        const finish = r.stopReason === "maxTokens" ? "length" : "stop";
        if (cfg.logRequests)
            log(`chat.completions mode=${mode} prompt=${promptTokens.length} completion=${r.completionTokens} ` +
                `finish=${finish} ${r.ms}ms attempts=${r.attempts}${r.valid ? "" : " INVALID: " + (r.errors ?? []).slice(0, 3).join("; ")}`);
        return {
            headers: { "x-generation-attempts": String(r.attempts), ...(mode === "json_schema" ? { "x-schema-valid": String(r.valid && finish === "stop") } : {}) },
            body: {
                id: "chatcmpl-" + crypto.randomBytes(12).toString("hex"),
                object: "chat.completion",
                created: Math.floor(Date.now() / 1000),
                model: body.model ?? cfg.modelId,
                system_fingerprint: "fp_node_llama_cpp",
                choices: [{
                    index: 0,
                    message: { role: "assistant", content: r.text, refusal: null },
                    logprobs: null,
                    finish_reason: finish,
                }],
                usage: {
                    prompt_tokens: promptTokens.length,
                    completion_tokens: r.completionTokens,
                    total_tokens: promptTokens.length + r.completionTokens,
                },
            },
        };
    });
}

// ---------------------------------------------------------------- HTTP
const server = http.createServer(async (req, res) => {
    try {
        const url = new URL(req.url, "http://x");
        const p = url.pathname.replace(/\/+$/, "") || "/";
        if (p === "/health" && (req.method === "GET" || req.method === "HEAD"))
            return sendJson(res, 200, { status: "ok" });
        if ((p === "/v1/models" || p === "/models") && req.method === "GET")
            return sendJson(res, 200, { object: "list", data: [{ id: cfg.modelId, object: "model", created: Math.floor(tStart / 1000), owned_by: "local" }] });
        if ((p === "/v1/models/" + cfg.modelId || p === "/models/" + cfg.modelId) && req.method === "GET")
            return sendJson(res, 200, { id: cfg.modelId, object: "model", created: Math.floor(tStart / 1000), owned_by: "local" });
        if (p === "/v1/chat/completions" || p === "/chat/completions") {
            if (req.method !== "POST") throw new HttpError(405, "use POST");
            const raw = await readBody(req);
            let body;
            try {
                body = JSON.parse(raw);
            } catch (e) {
                throw bad(`could not parse the JSON body: ${e.message}`);
            }
            const { headers, body: out } = await chatCompletion(body);
            return sendJson(res, 200, out, headers);
        }
        throw new HttpError(404, `unknown endpoint ${req.method} ${url.pathname}`, { type: "not_found_error" });
    } catch (err) {
        sendError(res, err);
    }
});
server.keepAliveTimeout = 5000;

let shuttingDown = false;
async function shutdown(sig) {
    if (shuttingDown) return;
    shuttingDown = true;
    log(`${sig}: shutting down`);
    server.close();
    setTimeout(() => process.exit(0), 2000).unref();
    try {
        await context.dispose();
        await model.dispose();
        await llama.dispose();
    } catch { /* ignore */ }
    process.exit(0);
}
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGTERM", () => shutdown("SIGTERM"));

server.listen(cfg.port, cfg.host, () => {
    const { address, port } = server.address();
    console.log(`listening on http://${address}:${port} (model ${cfg.modelId}, startup ${Date.now() - tStart} ms)`);
});
