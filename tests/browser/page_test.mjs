// The web page of `zeroshot serve` in a real browser (Debian's chromium, driven by puppeteer-core):
// picks a fixture image, runs the classification and checks that every bar and number on the
// page is what the API answers for the same image and labels; then the two-image comparison and
// an error in plain words. Usage (tests/browser/run.sh sets it up):
//   node page_test.mjs ZEROSHOT_CLI FIXTURES [SCREENSHOT.png]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
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

// The server on a free port, read back from its "listening" log line.
const server = spawn(cli, ["serve", "--repo", model, "--port", "0"], { cwd: fixtures, stdio: ["ignore", "ignore", "pipe"] });
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
}
console.log(failures === 0 ? "browser test passed" : `browser test: ${failures} checks failed`);
process.exit(failures === 0 ? 0 : 1);
