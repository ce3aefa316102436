// Text the RunningHub extension shows: key status, key test results, price, balance and key health.
// Pure (no DOM, no ComfyUI) so `node --test tests/js/` covers it; runninghub.js imports it.

const TEXT = {
  en: {
    notSet: "not set",
    set: "set · {mask}",
    fromEnv: "set · {mask} (from the environment: it wins over this setting)",
    save: "Save key",
    remove: "Remove",
    test: "Test key",
    testing: "testing…",
    saving: "saving…",
    placeholder: "paste the API key, then Save",
    testOk: "OK · {type} key · balance {balance} · up to {limit} task(s) at once ({running} running, {queued} queued)",
    testFailed: "Problem: {error}",
    estimate: "≈ {price} for {duration} s {resolution}",
    estimateAuto: "≈ {price} for a length the model chooses, {resolution}",
    batchTotal: "batch of {count}: ≈ {price}",
    batchUnknown: "batch: the total is known once the prompt list's upstream list arrives",
    published: "(published price)",
    afterRun: "price shown after the run",
    balance: "balance {balance}",
    unknown: "unknown",
    keyUnanswered: "The key's status could not be read: ComfyUI did not answer. Reload the page.",
    restarted: "stopped: ComfyUI restarted during the run · queue again to pick the task up (nothing is paid twice)",
    references: "{model} takes up to {images} reference images (a batch counts one per image), {videos} videos and " +
      "{audios} audio clips; the next socket appears as you connect one.",
  },
  zh: {
    notSet: "未设置",
    set: "已设置 · {mask}",
    fromEnv: "已设置 · {mask}（来自环境变量，优先于此设置）",
    save: "保存密钥",
    remove: "删除",
    test: "测试密钥",
    testing: "测试中…",
    saving: "保存中…",
    placeholder: "粘贴 API 密钥后点保存",
    testOk: "正常 · {type} 密钥 · 余额 {balance} · 最多同时 {limit} 个任务（运行 {running}，排队 {queued}）",
    testFailed: "问题：{error}",
    estimate: "预计 {price}（{duration} 秒 {resolution}）",
    estimateAuto: "预计 {price}（时长由模型决定，{resolution}）",
    batchTotal: "批量 {count} 个：预计 {price}",
    batchUnknown: "批量：提示词列表接收上游列表后才知道总价",
    published: "（公开价格）",
    afterRun: "价格在运行后显示",
    balance: "余额 {balance}",
    unknown: "未知",
    keyUnanswered: "无法读取密钥状态：ComfyUI 没有响应，请刷新页面。",
    restarted: "已中断：运行中 ComfyUI 重启了 · 再次排队即可取回任务（不会重复扣费）",
    references: "{model} 最多可用 {images} 张参考图（批次中每张图各算一张）、{videos} 段参考视频和 {audios} 段参考音频；" +
      "每接上一个，就会出现下一个接口。",
  },
};

/** The sites, as the settings name them. */
export const SITES = { cn: "runninghub.cn (CNY)", ai: "runninghub.ai (USD)" };

/** One ComfyUI setting per site under RunningHub → `section` (id `RunningHub.<key>.<site>`), each
 * shown as `panel(site)`: a custom panel, the setting's own value is never used. .cn sorts first:
 * most RunningHub users are there. */
export function siteSettings(key, section, name, tooltip, panel) {
  return Object.entries(SITES).map(([site, label]) => ({
    id: `RunningHub.${key}.${site}`,
    category: ["RunningHub", section, site],
    name: `${name} ${label}`,
    tooltip,
    type: () => panel(site),
    defaultValue: "",
    sortOrder: site === "cn" ? 2 : 1,
  }));
}

/** "zh" for any Chinese locale ("zh", "zh-CN", "zh-TW"), else "en". */
export function languageOf(locale) {
  return String(locale || "").toLowerCase().startsWith("zh") ? "zh" : "en";
}

// A switch's words (the schema's label_on / label_off) and the word-like choices of a few lists, in
// Chinese; other languages show them as sent. Only what is shown changes: the workflow keeps the value.
const SWITCH_WORDS = { zh: { on: "开", off: "关", auto: "自动" } };
const CHOICE_WORDS = {
  zh: { aspect_ratio: { adaptive: "自适应" }, task_type: { auto: "自动", edit: "编辑" },
    bitrate: { standard: "标准", high: "高" } },
};

/** A switch's label in `lang`: only the words change, the value the workflow saves stays true / false. */
export function switchLabel(label, lang = "en") {
  return SWITCH_WORDS[languageOf(lang)]?.[label] ?? label;
}

/** How the list `input` shows its `value` in `lang` (the value itself, where it has no words of its
 * own), or null when none of the input's choices has other words: the frontend then shows values. */
export function choiceLabels(input, lang = "en") {
  const words = CHOICE_WORDS[languageOf(lang)]?.[input];
  return words ? (value) => words[value] ?? String(value ?? "") : null;
}

/** The string `key` in `lang` with {name} placeholders filled from `vars`. */
export function t(lang, key, vars = {}) {
  const table = TEXT[languageOf(lang)];
  const template = table[key] ?? TEXT.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** "0.75 CNY" / "0.75 元" / "$0.75", as the pack's money.format_money writes it: two decimals, more
 * only when the amount has them (a charge of 0.035 is never shown as 0.04); text is shown as given. */
export function formatMoney(amount, currency, lang = "en") {
  if (amount === null || amount === undefined || amount === "") return t(lang, "unknown");
  const number = Number(amount);
  const cents = Number.isFinite(number) ? number.toFixed(2) : "";
  const value = !cents ? String(amount) : Number(cents) === number ? cents : String(number);
  if (currency === "USD") return `$${value}`;
  if (currency === "CNY" && languageOf(lang) === "zh") return `${value} 元`;
  return currency ? `${value} ${currency}` : value;
}

/** A price that can only be known as a range (the pack's money.format_price): "9.45–18.90 CNY",
 * "9.45–18.90 元", "$1.32–$2.64"; an exact price (no or an equal ``high``) as formatMoney. */
export function formatRange(low, high, currency, lang = "en") {
  const top = formatMoney(high, currency, lang);
  if (high === null || high === undefined || Number(high) === Number(low)) return formatMoney(low, currency, lang);
  const bottom = formatMoney(low, currency, lang);
  return currency === "USD" ? `${bottom}–${top}` : `${bottom.split(" ")[0]}–${top}`;
}

/** The key line of one site, from GET /runninghub/key: "set · ****abcd" or "not set". */
export function formatKeyStatus(site, lang = "en") {
  if (!site || !site.set) return t(lang, "notSet");
  const mask = `****${site.last4 || ""}`;
  return t(lang, site.source === "environment" ? "fromEnv" : "set", { mask });
}

/** The answer of POST /runninghub/key/test as one line: the account, or the exact problem. */
export function formatTestResult(result, lang = "en") {
  if (!result) return "";
  if (!result.ok) return t(lang, "testFailed", { error: result.error || t(lang, "unknown") });
  return t(lang, "testOk", {
    type: result.key_type || t(lang, "unknown"),
    balance: formatMoney(result.balance, result.currency, lang),
    limit: result.concurrent_limit ?? "?",
    running: result.running ?? 0,
    queued: result.queued ?? 0,
  });
}

/** The price caption on the Seedance node, from GET /runninghub/price. */
export function formatPrice(info, lang = "en") {
  if (!info) return "";
  const parts = [];
  if (info.price === null || info.price === undefined) {
    parts.push(t(lang, "afterRun"));
  } else {
    let line = t(lang, info.duration === "auto" ? "estimateAuto" : "estimate", {
      price: formatRange(info.price, info.price_high, info.currency, lang),
      duration: info.duration,
      resolution: info.resolution,
    });
    if (info.source === "table") line += ` ${t(lang, "published")}`;
    parts.push(line);
  }
  parts.push(...batchTotal(info, lang));
  if (info.balance !== null && info.balance !== undefined && info.balance !== "") {
    parts.push(t(lang, "balance", { balance: formatMoney(info.balance, info.balance_currency || info.currency, lang) }));
  }
  return parts.join(" · ");
}

/** The caption's batch part, for a node fed by RunningHub Prompt List: `info.batch` is the number
 * of videos (prompts × variations), or null when the list comes from upstream (known only as it
 * runs); the total is that many times the price of one (a range stays a range). */
function batchTotal(info, lang) {
  if (info.batch === undefined) return [];
  if (info.batch === null) return [t(lang, "batchUnknown")];
  if (info.price === null || info.price === undefined) return [];
  const times = (amount) => (amount === null || amount === undefined ? amount : Math.round(amount * info.batch * 100) / 100);
  return [t(lang, "batchTotal", {
    count: info.batch,
    price: formatRange(times(info.price), times(info.price_high), info.currency, lang),
  })];
}

/** How many videos a RunningHub Prompt List makes from its widgets (non-empty lines × variations),
 * or null when it also takes a list from upstream (its size is known only as the prompt runs). */
export function promptListSize(promptsText, variations, upstreamLinked) {
  if (upstreamLinked) return null;
  const lines = String(promptsText ?? "").split(/\r?\n/).filter((line) => line.trim()).length;
  return lines * Math.max(1, Number(variations) || 1);
}

/** True when the node's status line already says the key's `problem` (a failed run's "failed: …"
 * line is the same words): the panel then shows it once. */
export function saysProblem(status, problem) {
  return Boolean(problem) && String(status || "").includes(problem);
}

const LINE_PX = 12 * 1.35;  // the panel's font-size and line-height (js/runninghub.js)

/** About how tall the panel's `texts` are at `width` px (each a block; wide CJK characters count
 * double): for a frontend that asks a widget's height before the panel was ever laid out. */
export function estimatePanelHeight(texts, width) {
  const perLine = Math.max(10, (width - 8) / 6.6);  // 12 px sans-serif: ~6.6 px a Latin character
  let lines = 0;
  let blocks = 0;
  for (const text of texts) {
    if (!text) continue;
    blocks += 1;
    for (const line of String(text).split("\n")) {
      const units = [...line].reduce((n, ch) => n + (/[\u2e80-\uffef]/.test(ch) ? 1.8 : 1), 0);
      lines += Math.max(1, Math.ceil(units / perLine));
    }
  }
  return Math.ceil(lines * LINE_PX + Math.max(0, blocks - 1) * 2 + 4);
}

/** The Seedance node's caption: `price` (price and balance) and `problem`, a missing or rejected
 * key (or a refused price request: widgets the model does not take) with its fix, told before
 * anything is spent; "" when none. Both come worded by the server in the caption's language
 * (runninghub_video/words/wording.py), as the node says them. */
export function formatCaption(info, lang = "en") {
  if (!info) return { price: "", problem: "" };
  if (info.error) return { price: "", problem: info.error };
  return { price: formatPrice(info, lang), problem: info.key?.problem ?? "" };
}

/** The counts of one model's entry in the node definition ({label, image, video, audio}) as the
 * "references" text's values. */
export function referenceCounts(model) {
  return { model: model.label, images: model.image ?? 0, videos: model.video ?? 0, audios: model.audio ?? 0 };
}
