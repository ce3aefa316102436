// The text of the RunningHub sidebar tab (js/inbox_format.js), run by `node --test tests/js/*.test.mjs`.
// Served by ComfyUI as ES modules without a package.json, so it loads as a data: URL (standins.mjs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { moduleUrl } from "./standins.mjs";

const {
  budgetSetting, budgetText, elapsedNow, formatElapsed, formatTime, hostOf, metaLine, optionsText, stateLabel,
  totalsText, tt,
} = await import(await moduleUrl("inbox_format.js"));

const saved = {
  row: 3, task_id: "2013508786110730241", site: "cn", state: "downloaded", phase: "saved", cost: 0.75,
  currency: "CNY", created_at: 1795800000, submitted_at: 1795800001, finished_at: 1795800042, elapsed_s: 41,
  options: { duration: "5", resolution: "720p", aspectRatio: "16:9", cameraFixed: "true" },
};

test("a state reads as the user thinks of it, in both languages", () => {
  assert.equal(stateLabel(saved), "saved");
  assert.equal(stateLabel(saved, "zh-CN"), "已保存");
  assert.equal(stateLabel({ phase: "pending", state: "QUEUED" }), "queued");
  assert.equal(stateLabel({ phase: "pending", state: "RUNNING" }, "zh"), "运行中");
  assert.equal(stateLabel({ phase: "ambiguous" }), "no answer · may be paid");
  assert.equal(stateLabel({ phase: "ready", recovering: true }), "recovering…");
  assert.equal(stateLabel({ phase: "unknown", state: "PAUSED" }), "state PAUSED");
});

test("options read as seconds, resolution, ratio and camera", () => {
  assert.equal(optionsText(saved.options), "5 s · 720p · 16:9 · camera fixed");
  assert.equal(optionsText(saved.options, "zh"), "5 秒 · 720p · 16:9 · 固定镜头");
  assert.equal(optionsText({ duration: "2", cameraFixed: "false" }), "2 s");
  assert.equal(optionsText(undefined), "");
});

test("elapsed ticks while a task runs and stays once it finished", () => {
  assert.equal(formatElapsed(41), "0:41");
  assert.equal(formatElapsed(3723), "1:02:03");
  assert.equal(formatElapsed(null), "");
  assert.equal(elapsedNow(saved, 1795809999), 41);
  const running = { ...saved, phase: "pending", finished_at: null, elapsed_s: 3 };
  assert.equal(elapsedNow(running, 1795800061), 60);
  assert.equal(elapsedNow({ phase: "ambiguous", elapsed_s: null }, 1), null);
});

test("the meta line has the local send time, elapsed, cost with currency, and site", () => {
  const time = formatTime(saved.created_at);
  assert.match(time, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.equal(metaLine(saved, "en", 0), `sent ${time} · 0:41 · 0.75 CNY · .cn`);
  assert.equal(metaLine(saved, "zh", 0), `提交于 ${time} · 0:41 · 0.75 元 · .cn`);
  const running = { ...saved, phase: "pending", cost: null, finished_at: null };
  assert.match(metaLine(running, "en", saved.submitted_at + 5), /· 0:05 · cost not known yet · \.cn$/);
  assert.equal(metaLine({ ...saved, site: "ai", currency: "USD", cost: 0.2 }, "en", 0), `sent ${time} · 0:41 · $0.20 · .ai`);
});

test("totals list each site in its currency, or say nothing was spent", () => {
  const entries = [{ site: "ai", currency: "USD", amount: 0.2, tasks: 1 }, { site: "cn", currency: "CNY", amount: 1.5, tasks: 2 }];
  assert.equal(totalsText(entries), "$0.20 (.ai) · 1.50 CNY (.cn)");
  assert.equal(totalsText(entries, "zh"), "$0.20 (.ai) · 1.50 元 (.cn)");
  assert.equal(totalsText([]), "nothing spent");
  assert.equal(totalsText(undefined, "zh"), "尚无花费");
});

test("a budget shows spent of budget, running tasks, or nothing when off", () => {
  const status = { site: "cn", currency: "CNY", budget: 2, spent: 0.75, running: 0.75, running_tasks: 1 };
  assert.equal(budgetText(status), "Daily budget .cn: 0.75 CNY of 2.00 CNY (+0.75 CNY not reported yet)");
  assert.equal(budgetText({ ...status, running_tasks: 0 }, "zh"), ".cn 每日预算：已用 0.75 元 / 2.00 元");
  assert.equal(budgetText({ ...status, budget: null }), "");
  assert.equal(budgetSetting({ ...status, budget: null }), "off: no limit");
  assert.equal(budgetSetting(status, "zh"), "每天 2.00 元 · 今天已用 0.75 元");
});

test("every English text has a Chinese one", () => {
  for (const key of ["ambiguousHelp", "recover", "recoverHint", "lookUp", "pasteId", "empty", "title"]) {
    assert.notEqual(tt("zh", key), tt("en", key), key);
  }
  assert.equal(hostOf("https://www.runninghub.cn/call-api/call-record-detail/1"), "www.runninghub.cn");
  assert.equal(tt("en", "lookUp", { host: "www.runninghub.ai" }), "Look up on www.runninghub.ai");
});

test("a batch's tasks are gathered under one header where its newest task is, with its total", async () => {
  const { groupTasks, batchLine } = await import(await moduleUrl("inbox_format.js"));
  const batch = { id: "file:1", name: "shots.jsonl", tasks: 3, saved: 2, cost: 0.28, currency: "CNY" };
  const tasks = [{ row: 9 }, { row: 8, batch: { id: "file:1" } }, { row: 7 }, { row: 6, batch: { id: "file:1" } },
    { row: 5, batch: { id: "comfy:p:3" } }];
  const grouped = groupTasks(tasks, [batch]);
  assert.deepEqual(grouped.map((g) => (g.batch ? "batch" : `${g.task.row}${g.inBatch ? "*" : ""}`)),
    ["9", "batch", "8*", "6*", "7", "5"]);  // a batch of one (not listed) is no group
  assert.equal(batchLine(batch), "Batch shots.jsonl · 3 tasks · 2 saved · 0.28 CNY");
  assert.equal(batchLine(batch, "zh"), "批量 shots.jsonl · 3 个任务 · 已保存 2 · 0.28 元");
});

test("a converted reference's state reads in Chinese; one this pack does not know stays as sent", async () => {
  const { assetLine } = await import(await moduleUrl("inbox_format.js"));
  const asset = { site: "cn", kind: "image", state: "ACTIVE", created_at: 0 };
  assert.match(assetLine(asset, "zh"), /^\.cn · 图片 · 可用 · 转换于/);
  assert.match(assetLine({ ...asset, state: "creating" }, "zh"), /· 已请求 ·/);
  assert.match(assetLine({ ...asset, state: "QUEUED_NEW" }, "zh"), /· QUEUED_NEW ·/);
  assert.match(assetLine(asset, "en"), /^\.cn · image · ACTIVE · converted/);
});

test("a node's batch and a task's options read in Chinese in the tab", async () => {
  const { batchLine, optionsText } = await import(await moduleUrl("inbox_format.js"));
  const batch = { name: "Seedance 2.0 · node 12", tasks: 3, saved: 2, cost: 6, currency: "CNY" };
  assert.equal(batchLine(batch, "zh"), "批量 Seedance 2.0 · 节点 12 · 3 个任务 · 已保存 2 · 6.00 元");
  assert.equal(batchLine(batch, "en"), "Batch Seedance 2.0 · node 12 · 3 tasks · 2 saved · 6.00 CNY");
  assert.equal(optionsText({ duration: "5", resolution: "720p", aspectRatio: "adaptive" }, "zh"), "5 秒 · 720p · 自适应");
  assert.equal(optionsText({ aspectRatio: "adaptive" }, "en"), "adaptive");
});
