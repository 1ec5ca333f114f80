// The web page of `zeroshot serve` in a real browser (Debian's chromium, driven by puppeteer-core):
// picks a fixture image, runs the classification and checks that every bar and number on the
// page is what the API answers for the same image and labels; then the two-image comparison and
// an error in plain words; then the Search tab over an index of fixture images (`zeroshot index`,
// served with --db): every hit's score, name and thumbnail against /v1/search and the files.
// Usage (tests/browser/run.sh sets it up):
//   node page_test.mjs ZEROSHOT_CLI FIXTURES [SCREENSHOT.png]
// (the Search tab's screenshot goes next to it, as NAME-search.png).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer from "puppeteer-core";

const [cli, fixtures, screenshot] = process.argv.slice(2);
// The server runs in the fixtures folder with a relative --repo, so the page (and the screenshot
// in docs/) names the model as "models/tiny-clip", not by a path of this machine.
const model = "models/tiny-clip";
const imageA = `${fixtures}/images/scene_640x480_q92.jpg`;
const imageB = `${fixtures}/images/scene_640x480.png`;
const labels = ["a dog", "a cat", "a red car", "a tree"];
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures++;
}

// An index of fixture images whose names give their sizes (the thumbnails' sizes are checked).
const indexed = ["scene_640x480_q92.jpg", "small_100x80.png", "odd_225x301.png", "scene_150x110.bmp",
  "palette_P_256x256.png", "rgba_transparency_300x200.png", "scene_640x480_lossy.webp", "anim_2frames_160x120.gif"];
const work = mkdtempSync(join(tmpdir(), "zs_page_"));
const db = join(work, "photos.db");
execFileSync(cli, ["index", "--db", db, "--repo", model, "-q", ...indexed.map((f) => `images/${f}`)], { cwd: fixtures, timeout: 120000 });

// The server on a free port, read back from its "listening" log line.
const server = spawn(cli, ["serve", "--repo", model, "--db", db, "--port", "0"], { cwd: fixtures, stdio: ["ignore", "ignore", "pipe"] });
const port = await new Promise((resolve, reject) => {
  let text = "";
  server.stderr.on("data", (chunk) => {
    text += chunk;
    const m = text.match(/"event":"listening"[^\n]*"port":(\d+)/) || text.match(/"port":(\d+)[^\n]*"event":"listening"/);
    if (m) resolve(Number(m[1]));
  });
  server.on("exit", (code) => reject(new Error(`server exited with ${code}: ${text}`)));
  setTimeout(() => reject(new Error("server did not start: " + text)), 30000);
});
const base = `http://127.0.0.1:${port}`;
for (let i = 0; i < 600; i++) {
  const r = await fetch(`${base}/health/ready`).catch(() => null);
  if (r && r.status === 200) break;
  await new Promise((r) => setTimeout(r, 50));
}
const dataUrl = (path, type) => `data:${type};base64,` + readFileSync(path).toString("base64");
async function api(path, body) {
  const r = await fetch(base + path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  return r.json();
}

// A browser that cannot start fails the test (and stops the server, which would outlive it).
const browser = await puppeteer
  .launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  })
  .catch((e) => {
    server.kill("SIGTERM");
    console.error(`FAIL chromium did not start: ${e.message}`);
    process.exit(1);
  });
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1000, height: 640 });
  await page.goto(base + "/", { waitUntil: "load" });

  // Classify: pick the image, set the labels, run.
  await (await page.$("#file-0")).uploadFile(imageA);
  await page.waitForSelector("#drop-0 img");
  await page.$eval("#labels", (el, text) => { el.value = text; }, labels.join("\n"));
  await page.click("#run");
  await page.waitForSelector(".bar-row", { timeout: 30000 });
  const rows = await page.$$eval(".bar-row", (rs) => rs.map((r) => ({
    label: r.querySelector(".label").textContent,
    score: Number(r.dataset.score),
    text: r.querySelector(".score").textContent,
    width: r.querySelector(".bar > div").style.width,
  })));
  const expected = (await api("/v1/classify", { images: [dataUrl(imageA, "image/jpeg")], labels, template: "a photo of {label}" })).results[0].scores;
  check(rows.length === expected.length, `${rows.length} bars for ${expected.length} labels`);
  expected.forEach((s, i) => {
    const row = rows[i] || {};
    check(row.label === s.label, `bar ${i} is "${s.label}" (page: "${row.label}")`);
    check(row.score === s.score, `bar ${i} score ${s.score} (page: ${row.score})`);
    check(row.text === s.score.toFixed(4), `bar ${i} shows ${s.score.toFixed(4)} (page: ${row.text})`);
    check(row.width === `${(100 * s.score).toFixed(2)}%`, `bar ${i} is ${(100 * s.score).toFixed(2)}% wide (page: ${row.width})`);
  });
  const modelText = await page.$eval("#model", (el) => el.textContent);
  check(modelText.includes(model), `the page names the model (${modelText})`);
  const timing = await page.$eval("#timing", (el) => el.textContent);
  check(/answered in \d+ ms/.test(timing), `the page shows the time taken (${timing})`);
  if (screenshot) {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: screenshot, fullPage: true });
  }

  // Compare two images.
  await page.click("#tab-compare");
  await (await page.$("#file-1")).uploadFile(imageB);
  await page.waitForSelector("#drop-1 img");
  await page.click("#run");
  await page.waitForSelector("#similarity", { timeout: 30000 });
  const shown = await page.$eval("#similarity", (el) => el.textContent);
  const similarity = (await api("/v1/similarity", { images: [dataUrl(imageA, "image/jpeg"), dataUrl(imageB, "image/png")] })).similarity;
  check(shown === similarity.toFixed(4), `similarity ${similarity.toFixed(4)} (page: ${shown})`);

  // Search (the server has an index: the tab is shown), by text, then by the picked image.
  await page.waitForSelector("#tab-search:not(.hidden)", { timeout: 10000 });
  await page.click("#tab-search");
  const searchAndCheck = async (query, body, what) => {
    await page.$eval("#query", (el, text) => { el.value = text; }, query);
    await page.$eval("#top-k", (el) => { el.value = "8"; });
    await page.$eval("#results", (el) => { el.innerHTML = ""; });
    await page.click("#run");
    await page.waitForSelector(".hit", { timeout: 30000 });
    await page.waitForFunction(() => [...document.querySelectorAll(".hit img")].every((i) => i.complete && (i.naturalWidth > 0 || i.classList.contains("missing"))), { timeout: 30000 });
    const hits = await page.$$eval(".hit", (hs) => hs.map((h) => ({
      path: h.dataset.path,
      score: Number(h.dataset.score),
      text: h.querySelector(".score").textContent,
      name: h.querySelector(".name").textContent,
      width: h.querySelector("img").naturalWidth,
      height: h.querySelector("img").naturalHeight,
    })));
    const expected = (await api("/v1/search", { ...body, top_k: 8 })).hits;
    check(hits.length === expected.length && expected.length === indexed.length, `${what}: ${hits.length} hits for ${expected.length} indexed images`);
    expected.forEach((h, i) => {
      const hit = hits[i] || {};
      check(hit.path === h.path && hit.score === h.score, `${what}: hit ${i} is ${h.path} ${h.score} (page: ${hit.path} ${hit.score})`);
      check(hit.text === h.score.toFixed(4), `${what}: hit ${i} shows ${h.score.toFixed(4)} (page: ${hit.text})`);
      const name = h.path.split("/").pop();
      check(hit.name === name, `${what}: hit ${i} is named ${name} (page: ${hit.name})`);
      const [, w, h2] = name.match(/_(\d+)x(\d+)/);
      check(hit.width === Number(w) && hit.height === Number(h2), `${what}: thumbnail ${i} is the ${w}x${h2} file (page: ${hit.width}x${hit.height})`);
    });
  };
  await searchAndCheck("a red car", { text: "a red car" }, "text search");
  if (screenshot) {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: screenshot.replace(/\.png$/, "-search.png"), fullPage: true });
  }
  await page.click("#tab-classify");
  await (await page.$("#file-0")).uploadFile(imageA);
  await page.waitForSelector("#drop-0 img");
  await page.click("#tab-search");
  await searchAndCheck("", { image: dataUrl(imageA, "image/jpeg") }, "image search");

  // An error in plain words: a file that is not an image.
  await page.click("#tab-classify");
  await (await page.$("#file-0")).uploadFile(`${fixtures}/images/manifest.json`);
  await page.waitForSelector("#drop-0 img");
  await page.click("#run");
  await page.waitForSelector("#error:not(.hidden)", { timeout: 30000 });
  const error = await page.$eval("#error", (el) => el.textContent);
  check(error.startsWith("This file is not an image the server can read."), `plain-words error (${error})`);
} finally {
  await browser.close();
  server.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
}
console.log(failures === 0 ? "browser test passed" : `browser test: ${failures} checks failed`);
process.exit(failures === 0 ? 0 : 1);
