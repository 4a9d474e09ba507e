/* The Probe page's browser viewer: pick a test image, click (or move with the arrow keys) a
   position, and read at each of the four stages that node's relation row R(i, :), its column
   R(:, i) and the spatial gate, for every shipped model side by side.

   Plain JavaScript, no libraries, no network: the data is window.RGA_PROBE_DATA, written by
   rga.study.report.probe_viewer when the book is built (arrays as little-endian float16 or
   float32 in base64). Maps are drawn cell by cell on each stage's own feature grid (nearest
   neighbour, never smoothed). Every map is coloured over its own range (min to max of the map
   shown, printed under it), as in the book's attention figures: on a fixed 0-1 scale a gate
   that moves between 0.50 and 0.58 would be one flat colour.

   What is drawn is also written into the page, so it can be checked without reading pixels:
   the container's data-image, data-y, data-x and data-ready; each map canvas's data-model,
   data-stage, data-map (gate, row, col), data-node (the node i in raster order), data-min,
   data-max and data-values (the drawn values, row-major, comma-separated). */
(function () {
  "use strict";

  var SCALE = 2; // screen pixels per image pixel
  var START = { y: 0.4, x: 0.5 }; // the chest height of a well-centred person

  function halfToFloat(h) {
    var sign = h & 0x8000 ? -1 : 1;
    var exponent = (h >> 10) & 0x1f;
    var fraction = h & 0x3ff;
    if (exponent === 0) return sign * fraction * Math.pow(2, -24);
    if (exponent === 31) return fraction ? NaN : sign * Infinity;
    return sign * (1 + fraction / 1024) * Math.pow(2, exponent - 15);
  }

  function decode(entry) {
    var text = atob(entry.data);
    var bytes = new Uint8Array(text.length);
    for (var k = 0; k < text.length; k++) bytes[k] = text.charCodeAt(k);
    var view = new DataView(bytes.buffer);
    var wide = entry.dtype === "float32";
    var out = new Float32Array(bytes.length / (wide ? 4 : 2));
    for (var i = 0; i < out.length; i++) {
      out[i] = wide ? view.getFloat32(4 * i, true) : halfToFloat(view.getUint16(2 * i, true));
    }
    return out;
  }

  // A jet colour scale (blue, cyan, yellow, red), as the book's figures use.
  function jet(t) {
    function channel(v) {
      return Math.round(255 * Math.max(0, Math.min(1, v)));
    }
    return [
      channel(1.5 - Math.abs(4 * t - 3)),
      channel(1.5 - Math.abs(4 * t - 2)),
      channel(1.5 - Math.abs(4 * t - 1)),
    ];
  }

  function cellOf(y, x, h, w) {
    return [Math.min(Math.floor(y * h), h - 1), Math.min(Math.floor(x * w), w - 1)];
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function format(v) {
    var a = Math.abs(v);
    return a !== 0 && (a >= 1000 || a < 0.01) ? v.toExponential(2) : v.toFixed(2);
  }

  function Viewer(root, data) {
    this.root = root;
    this.data = data;
    this.state = { image: 0, y: START.y, x: START.x };
    this.cache = {};
    this.pictures = [];
    this.build();
  }

  Viewer.prototype.values = function (model, stage, kind, image) {
    var key = [model, stage, kind, image].join("/");
    if (!this.cache[key]) {
      this.cache[key] = decode(this.data.models[model].stages[stage][kind][image]);
    }
    return this.cache[key];
  };

  Viewer.prototype.build = function () {
    var self = this;
    var data = this.data;
    var width = data.width * SCALE;
    var height = data.height * SCALE;
    this.root.textContent = "";
    this.root.classList.add("rga-probe-on");

    var picker = element("div", "rga-probe-images");
    picker.setAttribute("role", "group");
    picker.setAttribute("aria-label", "Test image");
    this.buttons = data.images.map(function (image, index) {
      var button = element("button", "rga-probe-image");
      button.type = "button";
      var thumb = element("img");
      thumb.src = image.png;
      thumb.alt = "";
      button.appendChild(thumb);
      button.appendChild(element("span", null, "image " + (index + 1)));
      button.addEventListener("click", function () {
        self.state.image = index;
        self.draw();
      });
      picker.appendChild(button);
      var picture = new Image();
      picture.onload = function () {
        if (self.state.image === index) self.draw();
      };
      picture.src = image.png;
      self.pictures.push(picture);
      return button;
    });
    this.root.appendChild(picker);

    this.status = element("p", "rga-probe-status");
    this.status.setAttribute("aria-live", "polite");
    this.root.appendChild(this.status);

    var scroll = element("div", "rga-probe-scroll");
    var table = element("table", "rga-probe-table");
    var head = element("thead");
    var names = element("tr");
    var kinds = element("tr");
    names.appendChild(element("th"));
    names.appendChild(element("th", null, "image"));
    kinds.appendChild(element("th"));
    kinds.appendChild(element("th", "rga-probe-hint", "click or use arrow keys"));
    var columns = data.models.map(function (model) {
      var has = { gate: false, relation: false };
      model.stages.forEach(function (s) {
        has.gate = has.gate || !!s.gate;
        has.relation = has.relation || !!s.relation;
      });
      var maps = (has.gate ? ["gate"] : []).concat(has.relation ? ["row", "col"] : []);
      var title = element("th", "rga-probe-model", model.label);
      title.colSpan = Math.max(maps.length, 1);
      names.appendChild(title);
      var titles = { gate: "gate", row: "R(i, :)", col: "R(:, i)" };
      if (!maps.length) kinds.appendChild(element("th", null, "no spatial maps"));
      maps.forEach(function (kind) {
        kinds.appendChild(element("th", null, titles[kind]));
      });
      return maps;
    });
    head.appendChild(names);
    head.appendChild(kinds);
    table.appendChild(head);

    var body = element("tbody");
    this.rows = [];
    var numbers = [];
    var grids = {};
    data.models.forEach(function (model) {
      model.stages.forEach(function (st) {
        if (numbers.indexOf(st.stage) < 0) numbers.push(st.stage);
        grids[st.stage] = grids[st.stage] || st;
      });
    });
    numbers.sort(function (a, b) {
      return a - b;
    });
    numbers.forEach(function (number) {
      var first = grids[number];
      var tr = element("tr");
      var label = element("th", "rga-probe-stage");
      label.scope = "row";
      label.appendChild(element("span", null, "stage " + first.stage));
      label.appendChild(element("span", null, "after " + first.name));
      label.appendChild(element("span", null, first.h + "×" + first.w));
      tr.appendChild(label);
      var cell = element("td");
      var pick = element("canvas", "rga-probe-pick");
      pick.width = width;
      pick.height = height;
      pick.tabIndex = 0;
      pick.setAttribute("role", "img");
      pick.dataset.stage = String(first.stage);
      self.listen(pick, first);
      cell.appendChild(pick);
      tr.appendChild(cell);
      var row = { stage: first, pick: pick, maps: [] };
      data.models.forEach(function (model, m) {
        var s = -1;
        model.stages.forEach(function (candidate, index) {
          if (candidate.stage === number) s = index;
        });
        var st = s >= 0 ? model.stages[s] : null;
        if (!columns[m].length) tr.appendChild(element("td"));
        columns[m].forEach(function (kind) {
          var td = element("td");
          var available = st && (kind === "gate" ? st.gate : st.relation);
          if (!available) {
            td.appendChild(element("span", "rga-probe-none", kind === "gate" ? "no gate" : "no relations"));
            tr.appendChild(td);
            return;
          }
          var canvas = element("canvas", "rga-probe-map");
          canvas.width = width;
          canvas.height = height;
          canvas.setAttribute("role", "img");
          canvas.dataset.model = String(m);
          canvas.dataset.stage = String(st.stage);
          canvas.dataset.map = kind;
          self.listen(canvas, st);
          var bar = element("canvas", "rga-probe-bar");
          bar.width = width;
          bar.height = 8;
          var ends = element("div", "rga-probe-range");
          var low = element("span");
          var high = element("span");
          ends.appendChild(low);
          ends.appendChild(high);
          td.appendChild(canvas);
          td.appendChild(bar);
          td.appendChild(ends);
          tr.appendChild(td);
          row.maps.push({ model: m, stage: s, info: st, kind: kind, canvas: canvas, low: low, high: high, bar: bar });
        });
      });
      body.appendChild(tr);
      self.rows.push(row);
    });
    table.appendChild(body);
    scroll.appendChild(table);
    this.root.appendChild(scroll);
    var note = element(
      "p",
      "rga-probe-source",
      "Images: " + data.source + ". Every map (gates and relations): colours from the map's own " +
        "minimum (blue) to its maximum (red), printed under it. The outlined cell is the node i."
    );
    this.root.appendChild(note);
    this.draw();
  };

  Viewer.prototype.listen = function (canvas, stage) {
    var self = this;
    canvas.addEventListener("click", function (event) {
      var box = canvas.getBoundingClientRect();
      var y = (event.clientY - box.top) / box.height;
      var x = (event.clientX - box.left) / box.width;
      self.state.y = Math.max(0, Math.min(0.999999, y));
      self.state.x = Math.max(0, Math.min(0.999999, x));
      if (canvas.tabIndex === 0) canvas.focus();
      self.draw();
    });
    if (canvas.tabIndex !== 0) return;
    canvas.addEventListener("keydown", function (event) {
      var moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
      var move = moves[event.key];
      if (!move) return;
      event.preventDefault(); // the arrow keys move the node, not the page
      var at = cellOf(self.state.y, self.state.x, stage.h, stage.w);
      var r = Math.max(0, Math.min(stage.h - 1, at[0] + move[0]));
      var c = Math.max(0, Math.min(stage.w - 1, at[1] + move[1]));
      self.state.y = (r + 0.5) / stage.h; // the centre of the new cell
      self.state.x = (c + 0.5) / stage.w;
      self.draw();
    });
  };

  function outline(context, r, c, h, w, width, height) {
    var x0 = Math.floor((c * width) / w);
    var y0 = Math.floor((r * height) / h);
    var x1 = Math.floor(((c + 1) * width) / w);
    var y1 = Math.floor(((r + 1) * height) / h);
    context.lineWidth = 2;
    context.strokeStyle = "#000";
    context.strokeRect(x0 + 1, y0 + 1, x1 - x0 - 2, y1 - y0 - 2);
    context.strokeStyle = "#fff";
    context.strokeRect(x0 - 1, y0 - 1, x1 - x0 + 2, y1 - y0 + 2);
  }

  function paint(canvas, values, h, w, low, high) {
    var context = canvas.getContext("2d");
    var span = high - low;
    for (var r = 0; r < h; r++) {
      for (var c = 0; c < w; c++) {
        var t = span > 0 ? (values[r * w + c] - low) / span : 0.5;
        var rgb = jet(Math.max(0, Math.min(1, t)));
        context.fillStyle = "rgb(" + rgb[0] + "," + rgb[1] + "," + rgb[2] + ")";
        var x0 = Math.floor((c * canvas.width) / w);
        var y0 = Math.floor((r * canvas.height) / h);
        var x1 = Math.floor(((c + 1) * canvas.width) / w);
        var y1 = Math.floor(((r + 1) * canvas.height) / h);
        context.fillRect(x0, y0, x1 - x0, y1 - y0);
      }
    }
  }

  function paintBar(canvas) {
    var context = canvas.getContext("2d");
    for (var x = 0; x < canvas.width; x++) {
      var rgb = jet(x / (canvas.width - 1));
      context.fillStyle = "rgb(" + rgb[0] + "," + rgb[1] + "," + rgb[2] + ")";
      context.fillRect(x, 0, 1, canvas.height);
    }
  }

  Viewer.prototype.draw = function () {
    var self = this;
    var state = this.state;
    var picture = this.pictures[state.image];
    var said = [];
    this.buttons.forEach(function (button, index) {
      button.setAttribute("aria-pressed", index === state.image ? "true" : "false");
    });
    this.rows.forEach(function (row) {
      var st = row.stage;
      var at = cellOf(state.y, state.x, st.h, st.w);
      var node = at[0] * st.w + at[1];
      var context = row.pick.getContext("2d");
      var width = row.pick.width;
      var height = row.pick.height;
      context.imageSmoothingEnabled = false;
      context.clearRect(0, 0, width, height);
      if (picture.complete && picture.naturalWidth) context.drawImage(picture, 0, 0, width, height);
      context.strokeStyle = "rgba(255, 255, 255, 0.35)"; // the stage's feature grid
      context.lineWidth = 1;
      context.beginPath();
      for (var r = 1; r < st.h; r++) {
        var y = Math.floor((r * height) / st.h) + 0.5;
        context.moveTo(0, y);
        context.lineTo(width, y);
      }
      for (var c = 1; c < st.w; c++) {
        var x = Math.floor((c * width) / st.w) + 0.5;
        context.moveTo(x, 0);
        context.lineTo(x, height);
      }
      context.stroke();
      outline(context, at[0], at[1], st.h, st.w, width, height);
      row.pick.dataset.node = String(node);
      row.pick.setAttribute(
        "aria-label",
        "image " + (state.image + 1) + " with the " + st.h + "×" + st.w + " grid of " + st.name +
          "; node i = " + node + " (row " + at[0] + ", column " + at[1] + ")"
      );
      said.push(st.name + ": i = " + node + " (row " + at[0] + ", col " + at[1] + ")");

      row.maps.forEach(function (map) {
        var info = map.info;
        var n = info.h * info.w;
        var shown;
        if (map.kind === "gate") {
          shown = self.values(map.model, map.stage, "gate", state.image);
        } else {
          var matrix = self.values(map.model, map.stage, "relation", state.image);
          shown = new Float32Array(n);
          for (var j = 0; j < n; j++) {
            shown[j] = map.kind === "row" ? matrix[node * n + j] : matrix[j * n + node];
          }
        }
        var low = Infinity;
        var high = -Infinity;
        for (var k = 0; k < n; k++) {
          low = Math.min(low, shown[k]);
          high = Math.max(high, shown[k]);
        }
        var scaleLow = low;
        var scaleHigh = high;
        paint(map.canvas, shown, info.h, info.w, scaleLow, scaleHigh);
        outline(map.canvas.getContext("2d"), at[0], at[1], info.h, info.w, map.canvas.width, map.canvas.height);
        if (!map.barDrawn) {
          paintBar(map.bar);
          map.barDrawn = true;
        }
        map.low.textContent = format(scaleLow);
        map.high.textContent = format(scaleHigh);
        var canvas = map.canvas;
        canvas.dataset.node = String(node);
        canvas.dataset.min = String(low);
        canvas.dataset.max = String(high);
        canvas.dataset.values = Array.prototype.join.call(shown, ",");
        var what = { gate: "spatial gate", row: "relation row R(i, :)", col: "relation column R(:, i)" };
        canvas.setAttribute(
          "aria-label",
          self.data.models[map.model].label + ", " + info.name + ", " + what[map.kind] + " of node " +
            node + ": from " + format(low) + " to " + format(high)
        );
      });
    });
    this.status.textContent =
      "Image " + (state.image + 1) + ", point (y " + state.y.toFixed(2) + ", x " +
      state.x.toFixed(2) + "): " + said.join("; ") + ".";
    this.root.dataset.image = String(state.image);
    this.root.dataset.y = String(state.y);
    this.root.dataset.x = String(state.x);
    this.root.dataset.ready = "1";
  };

  function start() {
    var data = window.RGA_PROBE_DATA;
    var roots = document.querySelectorAll("[data-rga-probe]");
    for (var k = 0; k < roots.length; k++) {
      if (!data || !data.models || !data.models.length) {
        roots[k].textContent = "The probe's data (_static/probe/probe-data.js) did not load.";
        continue;
      }
      new Viewer(roots[k], data);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
