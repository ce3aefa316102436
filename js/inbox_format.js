// Text of the RunningHub sidebar tab (js/inbox.js): task states, options, times, money, totals
// and budgets, in English and Chinese. Pure (no DOM, no ComfyUI) so `node --test tests/js/` covers it.
import { choiceLabels, formatMoney, languageOf } from "./format.js";

const TEXT = {
  en: {
    title: "RunningHub tasks",
    refresh: "Refresh",
    empty: "No tasks yet. Every paid RunningHub task shows here, also after a crash or restart.",
    today: "Today: {spent}",
    month: "This month: {spent}",
    nothing: "nothing spent",
    budget: "Daily budget .{site}: {spent} of {budget}",
    budgetRunning: " (+{running} not reported yet)",
    saved: "saved",
    pending: "running",
    queued: "queued",
    ready: "finished · file not on this computer",
    failed: "failed",
    ambiguous: "no answer · may be paid",
    expired: "expired",
    submitting: "submitting",
    unknown: "state {state}",
    recovering: "recovering…",
    created: "sent {time}",
    elapsed: "{t}",
    noCost: "cost not known yet",
    copyId: "Copy id",
    copied: "copied",
    copyPath: "Copy path",
    play: "Play",
    hide: "Hide",
    recover: "Recover",
    recoverHint: "Downloads the video by its task id: nothing is paid again.",
    lookUp: "Look up on {host}",
    ambiguousHelp: "This submit got no answer, so RunningHub may have made (and charged) the task. Find it in " +
      "your call records on {host} (API console → call records) around {time}, then paste its task id here:",
    pasteId: "task id from the site",
    useId: "Recover this id",
    loadMore: "Load more",
    cameraFixed: "camera fixed",
    seconds: "{n} s",
    failedRecover: "Recovery failed: {error}",
    budgetName: "Daily budget .{site}",
    budgetOff: "off: no limit",
    budgetOn: "{budget} a day · spent today {spent}",
    budgetPlaceholder: "amount a day, empty = off",
    budgetUnanswered: "The daily budget could not be read: ComfyUI did not answer. Reload the page.",
    budgetReset: "Set the budget again",
    budgetResetNone: "No budget",
    budgetResetTitle: "Set the daily budget again (the damaged file is kept aside)",
    budgetResetPlaceholder: "amount a day",
    budgetResetAmount: "Enter the amount a day, or choose No budget.",
    budgetResetNoneConfirm: "Start again with no daily budget for .{site}? Runs on .{site} will not be limited.",
    save: "Save",
    turnOff: "Off",
    assetsTitle: "Converted references (real people): {n}",
    assetsHint: "Kept as assets on your RunningHub account and reused by later runs. Delete removes one on the " +
      "site and here; a later run with that file converts it again.",
    assetLine: ".{site} · {kind} · {state} · converted {time}",
    assetId: "asset {id}",
    assetCreating: "asked for, no id yet",
    deleteAsset: "Delete",
    deleteAssetConfirm: "Delete asset {id} on RunningHub? A later run with this reference converts it again.",
    image: "image",
    video: "video",
    assetStates: {},  // RunningHub's own words (ACTIVE, PROCESSING, FAILED) and the pack's "creating"
    batch: "Batch {name} · {n} tasks · {saved} saved · {cost}",
    batchItem: "item {n}",
    batchNode: "node {n}",
    batchLine: "line {line} · variation {variation}",
  },
  zh: {
    title: "RunningHub 任务",
    refresh: "刷新",
    empty: "还没有任务。每个付费的 RunningHub 任务都会显示在这里，崩溃或重启后也不会丢失。",
    today: "今天：{spent}",
    month: "本月：{spent}",
    nothing: "尚无花费",
    budget: ".{site} 每日预算：已用 {spent} / {budget}",
    budgetRunning: "（另有尚未报账 {running}）",
    saved: "已保存",
    pending: "运行中",
    queued: "排队中",
    ready: "已完成 · 本机没有文件",
    failed: "失败",
    ambiguous: "未收到回复 · 可能已扣费",
    expired: "已过期",
    submitting: "提交中",
    unknown: "状态 {state}",
    recovering: "正在找回…",
    created: "提交于 {time}",
    elapsed: "{t}",
    noCost: "费用未知",
    copyId: "复制 ID",
    copied: "已复制",
    copyPath: "复制路径",
    play: "播放",
    hide: "收起",
    recover: "找回",
    recoverHint: "按任务 ID 下载视频：不会再次扣费。",
    lookUp: "在 {host} 查看",
    ambiguousHelp: "这次提交没有收到回复，RunningHub 可能已创建（并扣费）该任务。请在 {host} 的调用记录" +
      "（API 控制台 → 调用记录）中查找 {time} 前后的任务，然后把任务 ID 粘贴到这里：",
    pasteId: "网站上的任务 ID",
    useId: "找回此 ID",
    loadMore: "加载更多",
    cameraFixed: "固定镜头",
    seconds: "{n} 秒",
    failedRecover: "找回失败：{error}",
    budgetName: ".{site} 每日预算",
    budgetOff: "关闭：不限额",
    budgetOn: "每天 {budget} · 今天已用 {spent}",
    budgetPlaceholder: "每日金额，留空 = 关闭",
    budgetUnanswered: "无法读取每日预算：ComfyUI 没有响应，请刷新页面。",
    budgetReset: "重新设置预算",
    budgetResetNone: "不设预算",
    budgetResetTitle: "重新设置每日预算（损坏的文件会另存保留）",
    budgetResetPlaceholder: "每日金额",
    budgetResetAmount: "请填写每日金额，或选择“不设预算”。",
    budgetResetNoneConfirm: "重新开始且不为 .{site} 设每日预算？.{site} 的运行将不受限额。",
    save: "保存",
    turnOff: "关闭",
    assetsTitle: "已转换的参考（真人）：{n}",
    assetsHint: "作为素材保存在你的 RunningHub 账户中，之后的运行会复用。删除会同时在网站和本机移除；之后用到该文件时会重新转换。",
    assetLine: ".{site} · {kind} · {state} · 转换于 {time}",
    assetId: "素材 {id}",
    assetCreating: "已请求，尚无 ID",
    deleteAsset: "删除",
    deleteAssetConfirm: "在 RunningHub 上删除素材 {id}？之后用到这个参考时会重新转换。",
    image: "图片",
    video: "视频",
    assetStates: { ACTIVE: "可用", PROCESSING: "转换中", FAILED: "失败", creating: "已请求" },
    batch: "批量 {name} · {n} 个任务 · 已保存 {saved} · {cost}",
    batchItem: "第 {n} 项",
    batchNode: "节点 {n}",
    batchLine: "第 {line} 行 · 变体 {variation}",
  },
};

/** The tab's string `key` in `lang` with {name} placeholders filled from `vars`. */
export function tt(lang, key, vars = {}) {
  const template = TEXT[languageOf(lang)][key] ?? TEXT.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** "0:41", "12:05", "1:02:03". */
export function formatElapsed(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return "";
  const s = Math.max(0, Math.floor(Number(seconds)));
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(r)}` : `${m}:${pad(r)}`;
}

/** Local date and time of an epoch in seconds: "2026-11-27 17:31:02". */
export function formatTime(epoch) {
  if (!epoch) return "";
  const d = new Date(Number(epoch) * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The state badge of a task view (GET /runninghub/tasks): "saved", "running", "no answer · may be paid"… */
export function stateLabel(task, lang = "en") {
  if (task.recovering) return tt(lang, "recovering");
  if (task.phase === "pending") return tt(lang, ["CREATE", "QUEUED"].includes(task.state) ? "queued" : "pending");
  if (task.phase === "unknown") return tt(lang, "unknown", { state: task.state });
  return tt(lang, task.phase);
}

/** "5 s · 720p · 16:9 · camera fixed" from the stored submit options. */
export function optionsText(options = {}, lang = "en") {
  const parts = [];
  if (options.duration !== undefined) parts.push(tt(lang, "seconds", { n: options.duration }));
  if (options.resolution) parts.push(options.resolution);
  if (options.aspectRatio) parts.push(choiceLabels("aspect_ratio", lang)?.(options.aspectRatio) ?? options.aspectRatio);
  if (String(options.cameraFixed) === "true") parts.push(tt(lang, "cameraFixed"));
  return parts.join(" · ");
}

/** Elapsed seconds of a task now: ticking while it runs, fixed once it finished. */
export function elapsedNow(task, nowSeconds) {
  if (task.elapsed_s === null || task.elapsed_s === undefined) return null;
  if (task.finished_at || task.phase !== "pending") return task.elapsed_s;
  return Math.max(0, nowSeconds - (task.submitted_at || task.created_at));
}

/** The task's second line: "sent 2026-11-27 17:31:02 · 0:41 · 0.75 元 · .cn". */
export function metaLine(task, lang = "en", nowSeconds = Date.now() / 1000) {
  const parts = [tt(lang, "created", { time: formatTime(task.created_at) })];
  const elapsed = elapsedNow(task, nowSeconds);
  if (elapsed !== null) parts.push(formatElapsed(elapsed));
  if (task.cost !== null && task.cost !== undefined) parts.push(formatMoney(task.cost, task.currency, lang));
  else if (task.task_id && !["failed", "expired"].includes(task.phase)) parts.push(tt(lang, "noCost"));
  parts.push(`.${task.site}`);
  return parts.join(" · ");
}

/** "0.75 元 (.cn) · $0.20 (.ai)" for one period of GET /runninghub/tasks totals. */
export function totalsText(entries = [], lang = "en") {
  if (!entries.length) return tt(lang, "nothing");
  return entries.map((e) => `${formatMoney(e.amount, e.currency, lang)} (.${e.site})`).join(" · ");
}

/** The budget line of one site, or "" when it has no budget. */
export function budgetText(status, lang = "en") {
  if (!status || status.budget === null || status.budget === undefined) return "";
  let line = tt(lang, "budget", {
    site: status.site,
    spent: formatMoney(status.spent, status.currency, lang),
    budget: formatMoney(status.budget, status.currency, lang),
  });
  if (status.running_tasks) line += tt(lang, "budgetRunning", { running: formatMoney(status.running, status.currency, lang) });
  return line;
}

/** The settings panel's line for a site's budget. */
export function budgetSetting(status, lang = "en") {
  if (!status || status.budget === null || status.budget === undefined) return tt(lang, "budgetOff");
  return tt(lang, "budgetOn", {
    budget: formatMoney(status.budget, status.currency, lang),
    spent: formatMoney(status.spent, status.currency, lang),
  });
}

/** A converted reference's line: ".cn · image · ACTIVE · converted 2026-12-06 20:01:02". */
export function assetLine(asset, lang = "en") {
  return tt(lang, "assetLine", {
    site: asset.site, kind: tt(lang, asset.kind), time: formatTime(asset.created_at),
    state: TEXT[languageOf(lang)].assetStates[asset.state] ?? asset.state,  // a state this pack does not know: as sent
  });
}

/** The host of a URL, for "Look up on www.runninghub.cn". */
export function hostOf(url) {
  try {
    return new URL(url).host;
  } catch {
    return String(url || "");
  }
}

/** Tasks (newest first) with each batch of `batches` gathered under one header where its newest task is:
 *  [{batch}, {task, inBatch: true}, …, {task}, …]. A task of no listed batch stays where it is. */
export function groupTasks(tasks, batches = []) {
  const byId = new Map(batches.map((b) => [b.id, b]));
  const out = [];
  const placed = new Set();
  for (const task of tasks) {
    const id = task.batch?.id;
    if (!byId.has(id)) {
      out.push({ task });
    } else if (!placed.has(id)) {
      placed.add(id);
      out.push({ batch: byId.get(id) });
      for (const member of tasks) if (member.batch?.id === id) out.push({ task: member, inBatch: true });
    }
  }
  return out;
}

/** A task's place in its batch as the journal keeps it ("item 3" from ComfyUI, "line 2 · variation 1"
 *  from a batch file), in `lang`; a place of another shape is shown as kept. */
export function batchItemLabel(item, lang = "en") {
  const node = /^item (\d+)$/.exec(item || "");
  if (node) return tt(lang, "batchItem", { n: node[1] });
  const line = /^line (\d+) · variation (\d+)$/.exec(item || "");
  if (line) return tt(lang, "batchLine", { line: line[1], variation: line[2] });
  return String(item || "");
}

/** A batch's header line: its name, how many tasks, how many saved and its total. */
export function batchLine(batch, lang = "en") {
  const cost = batch.cost == null ? tt(lang, "noCost") : formatMoney(batch.cost, batch.currency, languageOf(lang));
  // a node's batch is named "<model> · node <id>" in the journal (nodes/seedance.py): the node in `lang`
  const name = String(batch.name ?? "").replace(/ · node (\d+)$/, (_, n) => ` · ${tt(lang, "batchNode", { n })}`);
  return tt(lang, "batch", { name, n: batch.tasks, saved: batch.saved, cost });
}
