// The timeline page of `wasm-rr view`: reads the trace's timeline (the JSON in #trace-data,
// made by wasm_rr_trace::timeline) and draws it with Apache ECharts. Events are marks in their
// interface's lane; when more than DETAIL_LIMIT events are in view they are counted in
// BUCKETS buckets per lane instead, so a page of 1,000,000 events draws as fast as one of 1,000.
"use strict";
(function () {
  const DETAIL_LIMIT = 20000;
  const BUCKETS = 800;
  const PALETTE = ["#3b6fd8", "#d8703b", "#2f9e5b", "#b8418e", "#7a5bd1", "#c9a227",
    "#1b9aaa", "#d64545", "#5f6b7a", "#8c6d31", "#4c9f38", "#a05195"];
  const SPAN_KINDS = [["http", "HTTP exchanges"], ["file", "files"], ["net", "connections"]];

  const data = JSON.parse(document.getElementById("trace-data").textContent);
  const lane = Uint8Array.from(data.lane);
  const first = data.first;
  const last = first + Math.max(lane.length, 1) - 1;
  const lanes = data.lanes;
  const kinds = SPAN_KINDS.filter(([k]) => data.spans.some((s) => s.kind === k));
  const spanLane = {};
  kinds.forEach(([k], i) => { spanLane[k] = i; });
  const laneBase = kinds.length;
  const categories = kinds.map(([, name]) => name).concat(lanes);
  const counts = new Array(lanes.length).fill(0);
  for (let i = 0; i < lane.length; i++) counts[lane[i]]++;
  const color = (l) => PALETTE[l % PALETTE.length];
  const $ = (id) => document.getElementById(id);

  // --- times: the app's monotonic clock reading at or before an event ---
  function readingIndex(x) {
    const t = data.ticks;
    let lo = 0, hi = t.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (t[mid][0] <= x) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found;
  }
  function readingAt(x) {
    const found = readingIndex(x);
    return found < 0 ? null : data.ticks[found][1] - data.origin_ns;
  }
  function duration(ns) {
    if (ns < 1e3) return ns + " ns";
    if (ns < 1e6) return (ns / 1e3).toFixed(1) + " µs";
    if (ns < 1e9) return (ns / 1e6).toFixed(1) + " ms";
    return (ns / 1e9).toFixed(3) + " s";
  }
  // Axis labels name each reading once: a label whose latest reading is the previous label's
  // stays empty (ECharts formats an axis's labels in order, the first with index 0).
  let labelled = -1;
  function timeLabel(x, i) {
    if (i === 0) labelled = -1;
    const found = readingIndex(x);
    if (found < 0 || found === labelled) return "";
    labelled = found;
    return "+" + duration(data.ticks[found][1] - data.origin_ns);
  }

  // --- the header, lanes table and summary ---
  document.title = "wasm-rr: " + data.name;
  $("title").textContent = data.name;
  const inPage = lane.length === data.events ? "" :
    ` (this page: events #${first} to #${first + lane.length - 1})`;
  const textNote = data.text.length === lane.length ? "" :
    `; the text of the first ${data.text.length.toLocaleString("en")} in full`;
  $("facts").textContent = `${data.events.toLocaleString("en")} events${inPage}${textNote}; ` +
    (data.ticks.length ? `times are the app's monotonic clock from its first reading` :
      "the app read no monotonic clock, so the timeline is by event only");
  $("summary").textContent = data.summary;
  const table = $("lanes");
  lanes.forEach((name, l) => {
    const row = table.insertRow();
    row.className = "lane";
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = color(l);
    const c = row.insertCell();
    c.append(sw, name);
    const n = row.insertCell();
    n.className = "n";
    n.textContent = counts[l].toLocaleString("en");
  });

  // --- the chart ---
  const chart = echarts.init($("chart"), null, { renderer: "canvas" });
  let view = [first, last];
  let barPx = 4;

  function eventsData(a, b) {
    a = Math.max(first, Math.floor(a));
    b = Math.min(last, Math.ceil(b));
    const grid = chart.getWidth() - 140;
    if (b - a + 1 <= DETAIL_LIMIT) {
      const out = new Array(Math.max(b - a + 1, 0));
      for (let i = a; i <= b; i++) out[i - a] = [i, laneBase + lane[i - first], 1, i, i];
      barPx = Math.max(2, Math.min(8, (grid / (b - a + 1)) * 0.8));
      return out;
    }
    const size = (b - a + 1) / BUCKETS;
    const L = lanes.length;
    const c = new Uint32Array(BUCKETS * L);
    for (let i = a; i <= b; i++) {
      c[Math.min(BUCKETS - 1, ((i - a) / size) | 0) * L + lane[i - first]]++;
    }
    const out = [];
    for (let k = 0; k < BUCKETS; k++) {
      for (let l = 0; l < L; l++) {
        const n = c[k * L + l];
        if (n) {
          const s = a + Math.ceil(k * size), e = Math.min(b, a + Math.ceil((k + 1) * size) - 1);
          out.push([(s + e) / 2, laneBase + l, n, s, e]);
        }
      }
    }
    barPx = Math.max(1.5, grid / BUCKETS);
    return out;
  }

  const spansData = data.spans.map((s, i) => [s.from, s.to, spanLane[s.kind], i % 3]);
  function renderSpan(params, api) {
    const y = api.value(2);
    const start = api.coord([api.value(0), y]);
    const end = api.coord([api.value(1), y]);
    const h = api.size([0, 1])[1] * 0.22;
    const cs = params.coordSys;
    const rect = echarts.graphic.clipRectByRect(
      { x: start[0] - 1, y: start[1] + (api.value(3) - 1) * h * 1.2 - h / 2,
        width: Math.max(3, end[0] - start[0] + 2), height: h },
      { x: cs.x, y: cs.y, width: cs.width, height: cs.height });
    if (!rect) return null;
    const box = { type: "rect", shape: rect, style: { fill: "#e0a030", stroke: "#9a6a10" } };
    if (rect.width < 60) return box;
    // A wide span carries its label.
    const label = { type: "text", style: {
      text: data.spans[params.dataIndex].label, x: rect.x + 3, y: rect.y + rect.height / 2,
      verticalAlign: "middle", fontSize: 10, fill: "#3a2800", width: rect.width - 6,
      overflow: "truncate" } };
    return { type: "group", children: [box, label] };
  }

  function eventText(i) {
    const k = i - first;
    if (k >= 0 && k < data.text.length) return data.text[k];
    return `#${i}: its call and answer are not in this page (it holds those of events #${first} ` +
      `to #${first + data.text.length - 1}); \`wasm-rr show ${data.name} --from ${i} --to ${i}\` ` +
      "prints them";
  }
  function showEvent(i) {
    const ns = readingAt(i);
    const lname = lanes[lane[i - first]];
    $("event").textContent = eventText(i) + "\n\nlane: " + lname +
      (ns === null ? "" : "\ntime: " + duration(ns) + " after the app's first clock reading (its last reading at or before this event)");
    $("event").dataset.event = i;
    history.replaceState(null, "", "#" + i);
  }
  function showSpan(i) {
    const s = data.spans[i];
    $("event").textContent = s.detail;
    document.querySelectorAll("#lists li.selected").forEach((li) => li.classList.remove("selected"));
    const li = document.querySelector(`#lists li[data-span="${i}"]`);
    if (li) li.classList.add("selected");
  }
  function zoomTo(a, b) {
    const pad = Math.max(5, Math.round((b - a) * 0.05));
    chart.dispatchAction({ type: "dataZoom", dataZoomIndex: 0,
      startValue: Math.max(first, a - pad), endValue: Math.min(last, b + pad) });
  }

  const option = {
    animation: false,
    grid: { left: 130, right: 10, top: 40, bottom: 70 },
    tooltip: {
      trigger: "item",
      confine: true,
      formatter: (p) => {
        if (p.seriesId === "spans") return escape(data.spans[p.dataIndex].label);
        const v = p.value;
        if (v[3] === v[4]) return escape(eventText(v[3]).slice(0, 300));
        return `${v[2].toLocaleString("en")} events of ${escape(categories[v[1]])}, #${v[3]} to #${v[4]}<br>click to zoom in`;
      },
    },
    xAxis: [
      { type: "value", min: first, max: last, minInterval: 1, name: "event", nameLocation: "start", nameGap: 30,
        axisLabel: { formatter: (v) => "#" + Math.round(v) }, splitLine: { show: false } },
      { type: "value", min: first, max: last, minInterval: 1, position: "top",
        name: data.ticks.length ? "time" : "", nameLocation: "start", nameGap: 30,
        axisLabel: { formatter: timeLabel }, splitLine: { show: false } },
    ],
    yAxis: { type: "category", data: categories, inverse: true,
      axisLabel: { width: 120, overflow: "truncate" }, splitLine: { show: true } },
    dataZoom: [
      { type: "slider", xAxisIndex: [0, 1], filterMode: "none", bottom: 12, minValueSpan: 4,
        labelFormatter: (v) => "#" + Math.round(v) },
      { type: "inside", xAxisIndex: [0, 1], filterMode: "none", minValueSpan: 4 },
    ],
    series: [
      { id: "spans", type: "custom", renderItem: renderSpan, data: spansData,
        encode: { x: [0, 1], y: 2 }, xAxisIndex: 0, z: 3 },
      { id: "events", type: "scatter", xAxisIndex: 0, symbol: "rect", progressive: 0,
        data: eventsData(first, last),
        symbolSize: (v) => [barPx, v[2] === 1 ? 12 : 4 + 3 * Math.log2(v[2])],
        itemStyle: { color: (p) => color(p.value[1] - laneBase) } },
    ],
  };
  function escape(s) {
    return s.replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]);
  }
  chart.setOption(option);

  let pending = false;
  chart.on("datazoom", (e) => {
    const z = e.batch ? e.batch[0] : e;
    if (z.startValue !== undefined && z.endValue !== undefined) {
      view = [z.startValue, z.endValue];
    } else {
      view = [first + (z.start / 100) * (last - first), first + (z.end / 100) * (last - first)];
    }
    if (!pending) {
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        chart.setOption({ series: [{ id: "events", data: eventsData(view[0], view[1]) }] });
      });
    }
  });
  chart.on("click", (p) => {
    if (p.seriesId === "spans") {
      showSpan(p.dataIndex);
    } else if (p.value[3] === p.value[4]) {
      showEvent(p.value[3]);
    } else {
      zoomTo(p.value[3], p.value[4]);
    }
  });
  window.addEventListener("resize", () => chart.resize());

  // --- the lists of spans ---
  for (const [kind, name] of SPAN_KINDS) {
    const list = $(kind);
    const spans = data.spans.map((s, i) => [s, i]).filter(([s]) => s.kind === kind);
    $(kind + "-title").textContent = `${name[0].toUpperCase()}${name.slice(1)} (${spans.length})`;
    for (const [s, i] of spans) {
      const li = document.createElement("li");
      li.className = "span " + kind;
      li.dataset.span = i;
      li.textContent = s.label;
      li.title = `events #${s.from} to #${s.to}`;
      li.addEventListener("click", () => { showSpan(i); zoomTo(s.from, s.to); });
      list.append(li);
    }
  }
  if (data.spans_left_out > 0) {
    const p = document.createElement("p");
    p.className = "note";
    p.textContent = `${data.spans_left_out} more spans are not in this page.`;
    $("lists").append(p);
  }

  // #N in the address opens event N.
  const wanted = /^#(\d+)$/.exec(location.hash);
  if (wanted) {
    const i = Number(wanted[1]);
    if (i >= first && i <= last) { zoomTo(i, i); showEvent(i); }
  }

  // For tests and the benchmark: what was drawn, and when (ms since the page began loading).
  const root = document.documentElement.dataset;
  root.lanes = lanes.length;
  root.spans = data.spans.length;
  root.marks = option.series[1].data.length;
  root.renderMs = Math.round(performance.now());
})();
