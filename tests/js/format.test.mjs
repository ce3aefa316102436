// The text of the RunningHub extension (js/format.js), run by `node --test tests/js/*.test.mjs`
// (tests/test_frontend.py runs it from pytest). js/format.js is an ES module served by ComfyUI
// without a package.json, so it is imported here from its source as a data: URL.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";

const source = await readFile(new URL("../../js/format.js", import.meta.url), "utf8");
const format = await import(`data:text/javascript;base64,${Buffer.from(source).toString("base64")}`);
const { formatCaption, formatKeyStatus, formatMoney, formatPrice, formatRange, formatTestResult, languageOf, promptListSize,
  siteSettings, t } = format;

test("any Chinese locale reads Chinese, everything else English", () => {
  assert.equal(languageOf("zh"), "zh");
  assert.equal(languageOf("zh-CN"), "zh");
  assert.equal(languageOf("zh-TW"), "zh");
  assert.equal(languageOf("en-US"), "en");
  assert.equal(languageOf("ja"), "en");
  assert.equal(languageOf(undefined), "en");
});

test("a set key shows only its last four characters", () => {
  assert.equal(formatKeyStatus({ set: true, last4: "abcd", source: "settings" }), "set · ****abcd");
  assert.equal(formatKeyStatus({ set: true, last4: "abcd", source: "settings" }, "zh"), "已设置 · ****abcd");
  assert.match(formatKeyStatus({ set: true, last4: "wxyz", source: "environment" }), /\*\*\*\*wxyz \(from the environment/);
});

test("a missing key reads not set", () => {
  assert.equal(formatKeyStatus({ set: false, last4: "" }), "not set");
  assert.equal(formatKeyStatus(undefined, "zh-CN"), "未设置");
});

test("money is shown with two decimals in the site's currency", () => {
  assert.equal(formatMoney(0.75, "CNY"), "0.75 CNY");
  assert.equal(formatMoney("98.5", "CNY", "zh"), "98.50 元");
  assert.equal(formatMoney(0.4, "USD"), "$0.40");
  assert.equal(formatMoney(null, "CNY"), "unknown");
  assert.equal(formatMoney(0.035, "USD"), "$0.035");  // what was paid, as runninghub_video/core/money.py shows it
  assert.equal(formatMoney("100.00", "CNY"), "100.00 CNY");
});

test("a working key shows type, balance, currency and concurrency limit", () => {
  const line = formatTestResult({ ok: true, key_type: "SHARED", balance: "100.00", currency: "CNY",
    concurrent_limit: 3, running: 1, queued: 0 });
  assert.equal(line, "OK · SHARED key · balance 100.00 CNY · up to 3 task(s) at once (1 running, 0 queued)");
  const zh = formatTestResult({ ok: true, key_type: "SHARED", balance: "100.00", currency: "CNY",
    concurrent_limit: 3, running: 0, queued: 0 }, "zh");
  assert.match(zh, /余额 100\.00 元/);
  assert.match(zh, /最多同时 3 个任务/);
});

test("a failing key shows the server's exact problem", () => {
  const error = "RunningHub error 1014 (API key is not Enterprise-Shared). Standard models need an Enterprise-Shared API key.";
  assert.equal(formatTestResult({ ok: false, error }), `Problem: ${error}`);
  assert.equal(formatTestResult({ ok: false, error: "x" }, "zh"), "问题：x");
});

test("the node shows the published price with its source and the balance", () => {
  const info = { price: 0.75, currency: "CNY", duration: "5", resolution: "720p", source: "table", balance: null };
  assert.equal(formatPrice(info), "≈ 0.75 CNY for 5 s 720p (published price)");
  assert.equal(formatPrice({ ...info, source: "preview", balance: "98.50", balance_currency: "CNY" }),
    "≈ 0.75 CNY for 5 s 720p · balance 98.50 CNY");
  assert.equal(formatPrice({ ...info, source: "preview", balance: "98.50" }, "zh"),
    "预计 0.75 元（5 秒 720p） · 余额 98.50 元");
});

test("a price that can only be a range shows both ends, as the pack's format_price", () => {
  const info = { price: 9.45, price_high: 18.9, currency: "CNY", duration: "5", resolution: "720p", source: "table" };
  assert.equal(formatPrice(info), "≈ 9.45–18.90 CNY for 5 s 720p (published price)");
  assert.equal(formatPrice(info, "zh"), "预计 9.45–18.90 元（5 秒 720p） （公开价格）");
  assert.equal(formatRange(1.32, 2.64, "USD"), "$1.32–$2.64");
  assert.equal(formatRange(7.2, 7.2, "CNY"), "7.20 CNY");
  assert.equal(formatRange(7.2, null, "CNY", "zh"), "7.20 元");
});

test("a site without a published price says it is shown after the run", () => {
  const info = { price: null, currency: "USD", duration: "5", resolution: "720p", source: "none", balance: null };
  assert.equal(formatPrice(info), "price shown after the run");
  assert.equal(formatPrice(info, "zh"), "价格在运行后显示");
  assert.equal(formatPrice({ ...info, balance: "12.3" }), "price shown after the run · balance $12.30");
});

test("every English string has a Chinese one with the same placeholders", () => {
  const keys = ["notSet", "set", "fromEnv", "save", "remove", "test", "testing", "saving", "placeholder",
    "testOk", "testFailed", "estimate", "published", "afterRun", "balance", "unknown"];
  for (const key of keys) {
    const en = t("en", key), zh = t("zh", key);
    assert.notEqual(zh, en, `${key} is not translated`);
    assert.deepEqual((zh.match(/\{\w+\}/g) || []).sort(), (en.match(/\{\w+\}/g) || []).sort(), key);
  }
});

test("the caption shows the key's problem as the server words it, next to the price", () => {
  const info = { price: 0.75, currency: "CNY", duration: "5", resolution: "720p", source: "table", site: "cn" };
  assert.deepEqual(formatCaption({ ...info, key: { state: "ok" } }),
    { price: "≈ 0.75 CNY for 5 s 720p (published price)", problem: "" });
  const none = { state: "none", problem: "no API key for .cn: add one in Settings → RunningHub" };
  assert.deepEqual(formatCaption({ ...info, key: none }),
    { price: "≈ 0.75 CNY for 5 s 720p (published price)", problem: none.problem });
  assert.equal(formatCaption({ ...info, key: { state: "unknown" } }).problem, "");
  const refused = "输入有误：Seedance 2.0 Fast 不支持“分辨率”为 native1080p：可用 480p, 720p, 1080p, 2k, 4k";
  assert.equal(formatCaption({ error: refused }, "zh").problem, refused);  // as the server worded it
});

test("each site gets its own setting, shown as that site's panel, .cn first", () => {
  const settings = siteSettings("ApiKey", "API key", "API key for", "tip", (site) => `panel of ${site}`);
  assert.deepEqual(settings.map((s) => s.id), ["RunningHub.ApiKey.cn", "RunningHub.ApiKey.ai"]);
  assert.deepEqual(settings[1].category, ["RunningHub", "API key", "ai"]);
  assert.equal(settings[1].name, "API key for runninghub.ai (USD)");
  assert.equal(settings[1].type(), "panel of ai");
  assert.ok(settings[0].sortOrder > settings[1].sortOrder);
});

test("a node fed by Prompt List shows the batch's total beside the price of one video", () => {
  const info = { price: 0.14, price_high: null, currency: "CNY", duration: "2", resolution: "480p", source: "table" };
  assert.equal(formatPrice({ ...info, batch: 10 }), "≈ 0.14 CNY for 2 s 480p (published price) · batch of 10: ≈ 1.40 CNY");
  assert.equal(formatPrice({ ...info, price: 2, price_high: 7.5, duration: "auto", batch: 4 }, "zh"),
    "预计 2.00–7.50 元（时长由模型决定，480p） （公开价格） · 批量 4 个：预计 8.00–30.00 元");
  assert.equal(formatPrice({ ...info, batch: null }),
    "≈ 0.14 CNY for 2 s 480p (published price) · batch: the total is known once the prompt list's upstream list arrives");
  assert.equal(formatPrice(info), "≈ 0.14 CNY for 2 s 480p (published price)");  // not fed by a prompt list
});

test("a prompt list makes its non-empty lines times its variations, unknown with an upstream list", () => {
  assert.equal(promptListSize("a cat\n\n  \r\na dog\n", 3, false), 6);
  assert.equal(promptListSize("a cat", 3, true), null);
  assert.equal(promptListSize("", 2, false), 0);
});

test("a switch's words are Chinese in Chinese and as the schema sent them otherwise", () => {
  assert.deepEqual(["on", "off", "auto"].map((w) => format.switchLabel(w, "zh-CN")), ["开", "关", "自动"]);
  assert.deepEqual(["on", "off", "auto", "yes"].map((w) => format.switchLabel(w, "en")), ["on", "off", "auto", "yes"]);
  assert.equal(format.switchLabel("yes", "zh"), "yes");  // a word without a Chinese one stays
});
