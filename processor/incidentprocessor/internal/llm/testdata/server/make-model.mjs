#!/usr/bin/env node
// make-model.mjs — writes a tiny, deterministic, random-weight GGUF (v3) model
// that llama.cpp / node-llama-cpp can load and run.
//
//   node make-model.mjs /path/to/linnix-tiny.gguf
//
// Architecture: llama, 2 blocks, n_embd 64, 4 heads (kv 4), n_ff 128, ctx 2048,
// all tensors F32. Tokenizer: SentencePiece-style ("llama") vocabulary of
// 300 tokens: <unk> <s> </s>, the ChatML control tokens <|im_start|> and
// <|im_end|> (= EOS), the 256 byte-fallback tokens <0x00>..<0xFF> (so ANY
// text can be encoded) and a few normal word pieces. A ChatML Jinja chat
// template is embedded.
//
// The weights are random (seeded PRNG, no external deps), so the output is
// gibberish. To keep generations short (and grammar-constrained JSON quick to
// finish) the output projection carries a per-token bias through a constant
// embedding channel: printable ASCII and word pieces are favoured, '"' ']' '}'
// and <|im_end|> are favoured enough that strings/arrays/replies end after a
// few dozen tokens on average, control bytes and '\' are disfavoured and raw
// bytes >= 0x80 are never produced (non-ASCII output uses whole-character
// tokens). Everything else is plain random noise.
import fs from "node:fs";
import path from "node:path";

const out = process.argv[2];
if (!out) {
    console.error("usage: node make-model.mjs <output.gguf>");
    process.exit(2);
}

// ---------------------------------------------------------------- hparams
const N_EMBD = 64;
const N_HEAD = 4;
const N_HEAD_KV = 4;
const N_FF = 128;
const N_LAYER = 2;
const N_CTX = 8192;
const HEAD_DIM = N_EMBD / N_HEAD;
const ALIGN = 32;

// ---------------------------------------------------------------- PRNG
// mulberry32 + Box-Muller: deterministic across platforms / Node versions.
let prngState = 0x4c696e6e; // "Linn"
function rand() {
    prngState = (prngState + 0x6d2b79f5) | 0;
    let t = prngState;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function gauss() {
    const u = Math.max(rand(), 1e-12);
    const v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

// ---------------------------------------------------------------- vocabulary
const TT = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 };
const tokens = [];
const scores = [];
const types = [];
function addToken(text, type, score = 0) {
    tokens.push(text);
    types.push(type);
    scores.push(score);
    return tokens.length - 1;
}
const UNK = addToken("<unk>", TT.UNKNOWN);
const BOS = addToken("<s>", TT.CONTROL);
const EOS_SPM = addToken("</s>", TT.CONTROL);
const IM_START = addToken("<|im_start|>", TT.CONTROL);
const IM_END = addToken("<|im_end|>", TT.CONTROL);
const BYTE0 = tokens.length;
for (let b = 0; b < 256; b++)
    addToken("<0x" + b.toString(16).toUpperCase().padStart(2, "0") + ">", TT.BYTE);
// A few normal SentencePiece pieces ("▁" = U+2581 marks a leading space).
// "▁" itself is required so that spaces round-trip as spaces.
const SP = "\u2581";
const words = [
    SP, SP + "the", SP + "a", SP + "process", SP + "cpu", SP + "memory", SP + "fork",
    SP + "storm", SP + "leak", SP + "spin", SP + "pid", SP + "high", SP + "load",
    SP + "is", SP + "of", SP + "in", SP + "to", SP + "and", SP + "root", SP + "cause",
    "er", "in", "on", "es", "ing", "ed", "at", "re", "th", "an", "_",
    "io", "mm", "ra", "ti",
    // a few valid multi-byte UTF-8 characters, so replies contain some non-ASCII text
    "\u00e9", "\u00fc", "\u2192", "\u00b5",
];
const firstWord = tokens.length;
words.forEach((w, i) => addToken(w, TT.NORMAL, -(i + 1)));
while (tokens.length < 300)
    addToken("<unused" + (tokens.length - firstWord - words.length) + ">", TT.UNUSED);
const N_VOCAB = tokens.length;

// ---------------------------------------------------------------- output bias (logit units)
const bias = new Float32Array(N_VOCAB).fill(0);
for (let b = 0; b < 256; b++) {
    const id = BYTE0 + b;
    // Raw bytes >= 0x80 are (practically) never generated: llama.cpp's grammar decoder accepts
    // some invalid UTF-8 byte sequences (overlongs, surrogates, 0xF5-0xFF leads) that decode to
    // several U+FFFD, which would break maxLength guarantees. Non-ASCII output comes only
    // from the whole-character tokens below.
    if (b >= 0x80) bias[id] = -40.0;
    else if (b < 0x20 || b === 0x7f) bias[id] = -4.0; // control chars / JSON whitespace: rare
    else if (/[A-Za-z]/.test(String.fromCharCode(b))) bias[id] = 2.2;
    else if (/[0-9]/.test(String.fromCharCode(b))) bias[id] = 1.5;
    else bias[id] = 1.0; // other printable ASCII
}
bias[BYTE0 + 0x20] = 1.0; // space
bias[BYTE0 + 0x5c] = -3.0; // backslash: few escape sequences
bias[BYTE0 + 0x22] = 4.6; // '"' ends strings after ~15-20 chars on average
bias[BYTE0 + 0x5d] = 3.5; // ']' ends arrays early
bias[BYTE0 + 0x7d] = 3.5; // '}'
bias[BYTE0 + 0x2c] = 2.0; // ','
for (let i = firstWord; i < firstWord + words.length; i++) bias[i] = /^[\x00-\x7f]*$/.test(words[i - firstWord].replace(SP, "")) ? 2.6 : 0.5;
bias[IM_END] = 3.5; // EOS: free-text replies end after a few dozen tokens
bias[UNK] = bias[BOS] = bias[EOS_SPM] = bias[IM_START] = -10;
for (let i = firstWord + words.length; i < N_VOCAB; i++) bias[i] = -10; // unused

// ---------------------------------------------------------------- tensors
// ggml shapes are listed innermost-first: a [ne0, ne1] F32 tensor is ne1 rows of ne0 floats.
const tensors = [];
function tensor(name, ne, fill) {
    const n = ne.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = fill(i);
    tensors.push({ name, ne, data });
}
const EMB_CONST = 1.0; // channel 0 of every embedding: drives the output bias
const EMB_NOISE = 0.1;
tensor("token_embd.weight", [N_EMBD, N_VOCAB], (i) => (i % N_EMBD === 0 ? EMB_CONST : EMB_NOISE * gauss()));
// After RMS-norm, channel 0 is ~EMB_CONST / rms(embedding) in every position.
const normedConst = EMB_CONST / Math.sqrt((EMB_CONST ** 2 + (N_EMBD - 1) * EMB_NOISE ** 2) / N_EMBD);
const OUT_NOISE = 1.0 / (Math.sqrt(N_EMBD - 1) * (EMB_NOISE / Math.sqrt((EMB_CONST ** 2 + (N_EMBD - 1) * EMB_NOISE ** 2) / N_EMBD))); // ~1 logit std
tensor("output_norm.weight", [N_EMBD], () => 1.0);
tensor("output.weight", [N_EMBD, N_VOCAB], (i) => {
    const tok = Math.floor(i / N_EMBD);
    const ch = i % N_EMBD;
    return ch === 0 ? bias[tok] / normedConst : OUT_NOISE * gauss();
});
const W = 0.05; // small random projections in the blocks
for (let l = 0; l < N_LAYER; l++) {
    tensor(`blk.${l}.attn_norm.weight`, [N_EMBD], () => 1.0);
    tensor(`blk.${l}.attn_q.weight`, [N_EMBD, N_EMBD], () => W * gauss());
    tensor(`blk.${l}.attn_k.weight`, [N_EMBD, HEAD_DIM * N_HEAD_KV], () => W * gauss());
    tensor(`blk.${l}.attn_v.weight`, [N_EMBD, HEAD_DIM * N_HEAD_KV], () => W * gauss());
    tensor(`blk.${l}.attn_output.weight`, [N_EMBD, N_EMBD], () => W * gauss());
    tensor(`blk.${l}.ffn_norm.weight`, [N_EMBD], () => 1.0);
    tensor(`blk.${l}.ffn_gate.weight`, [N_EMBD, N_FF], () => W * gauss());
    tensor(`blk.${l}.ffn_up.weight`, [N_EMBD, N_FF], () => W * gauss());
    tensor(`blk.${l}.ffn_down.weight`, [N_FF, N_EMBD], () => W * gauss());
}

// ---------------------------------------------------------------- metadata
const CHAT_TEMPLATE =
    "{% for message in messages %}" +
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}" +
    "{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const T = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STR: 8, ARR: 9, U64: 10, I64: 11, F64: 12 };
const kv = [
    ["general.architecture", T.STR, "llama"],
    ["general.name", T.STR, "linnix-tiny"],
    ["general.description", T.STR, "Tiny random-weight test model (gibberish output) for LLM client integration tests"],
    ["general.file_type", T.U32, 0], // ALL_F32
    ["general.alignment", T.U32, ALIGN],
    ["llama.context_length", T.U32, N_CTX],
    ["llama.embedding_length", T.U32, N_EMBD],
    ["llama.block_count", T.U32, N_LAYER],
    ["llama.feed_forward_length", T.U32, N_FF],
    ["llama.attention.head_count", T.U32, N_HEAD],
    ["llama.attention.head_count_kv", T.U32, N_HEAD_KV],
    ["llama.rope.dimension_count", T.U32, HEAD_DIM],
    ["llama.rope.freq_base", T.F32, 10000.0],
    ["llama.attention.layer_norm_rms_epsilon", T.F32, 1e-5],
    ["llama.vocab_size", T.U32, N_VOCAB],
    ["tokenizer.ggml.model", T.STR, "llama"],
    ["tokenizer.ggml.tokens", T.ARR, [T.STR, tokens]],
    ["tokenizer.ggml.scores", T.ARR, [T.F32, scores]],
    ["tokenizer.ggml.token_type", T.ARR, [T.I32, types]],
    ["tokenizer.ggml.bos_token_id", T.U32, BOS],
    ["tokenizer.ggml.eos_token_id", T.U32, IM_END],
    ["tokenizer.ggml.unknown_token_id", T.U32, UNK],
    ["tokenizer.ggml.padding_token_id", T.U32, UNK],
    ["tokenizer.ggml.add_bos_token", T.BOOL, false],
    ["tokenizer.ggml.add_eos_token", T.BOOL, false],
    ["tokenizer.ggml.add_space_prefix", T.BOOL, false],
    ["tokenizer.chat_template", T.STR, CHAT_TEMPLATE],
];

// ---------------------------------------------------------------- GGUF writer
class Writer {
    constructor() { this.chunks = []; this.len = 0; }
    buf(b) { this.chunks.push(b); this.len += b.length; }
    u32(v) { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.buf(b); }
    i32(v) { const b = Buffer.alloc(4); b.writeInt32LE(v); this.buf(b); }
    u64(v) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.buf(b); }
    f32(v) { const b = Buffer.alloc(4); b.writeFloatLE(v); this.buf(b); }
    u8(v) { this.buf(Buffer.from([v])); }
    str(s) { const b = Buffer.from(s, "utf8"); this.u64(b.length); this.buf(b); }
    pad(align) { const p = (align - (this.len % align)) % align; if (p) this.buf(Buffer.alloc(p)); }
    value(type, v) {
        switch (type) {
            case T.U32: return this.u32(v);
            case T.I32: return this.i32(v);
            case T.F32: return this.f32(v);
            case T.BOOL: return this.u8(v ? 1 : 0);
            case T.STR: return this.str(v);
            case T.ARR: {
                const [et, arr] = v;
                this.u32(et);
                this.u64(arr.length);
                for (const e of arr) this.value(et, e);
                return;
            }
            default: throw new Error("unsupported type " + type);
        }
    }
}
const GGML_TYPE_F32 = 0;
const w = new Writer();
w.buf(Buffer.from("GGUF", "ascii"));
w.u32(3); // version
w.u64(tensors.length);
w.u64(kv.length);
for (const [key, type, value] of kv) {
    w.str(key);
    w.u32(type);
    w.value(type, value);
}
let offset = 0;
for (const t of tensors) {
    t.offset = offset;
    w.str(t.name);
    w.u32(t.ne.length);
    for (const d of t.ne) w.u64(d);
    w.u32(GGML_TYPE_F32);
    w.u64(offset);
    offset += t.data.byteLength;
    offset += (ALIGN - (offset % ALIGN)) % ALIGN;
}
w.pad(ALIGN);
const dataStart = w.len;
for (const t of tensors) {
    const want = dataStart + t.offset;
    if (w.len < want) w.buf(Buffer.alloc(want - w.len));
    w.buf(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}
w.pad(ALIGN);

fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
fs.writeFileSync(out, Buffer.concat(w.chunks, w.len));
console.log(`wrote ${out}: ${w.len} bytes, ${tensors.length} tensors, vocab ${N_VOCAB}, ` +
    `n_embd ${N_EMBD}, n_layer ${N_LAYER}, n_head ${N_HEAD}/${N_HEAD_KV}, n_ff ${N_FF}, ctx ${N_CTX}`);
