"use strict";
(function () {
  var table = document.getElementById("decisions");
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var text = document.getElementById("filter-text");
  var verdict = document.getElementById("filter-verdict");
  var shown = document.getElementById("shown-count");
  function applyFilter() {
    var needle = text.value.trim().toLowerCase();
    var wanted = verdict.value;
    var count = 0;
    rows.forEach(function (row) {
      var ok = (!wanted || row.getAttribute("data-verdict") === wanted) &&
               (!needle || row.textContent.toLowerCase().indexOf(needle) !== -1);
      row.hidden = !ok;
      if (ok) { count += 1; }
    });
    shown.textContent = String(count);
  }
  function sortBy(index, header) {
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) { cell.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    rows.sort(function (a, b) {
      var x = a.cells[index].textContent, y = b.cells[index].textContent;
      var order = x < y ? -1 : (x > y ? 1 : 0);
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, index) {
    var button = header.querySelector("button");
    button.addEventListener("click", function () { sortBy(index, header); });
  });
  text.addEventListener("input", applyFilter);
  verdict.addEventListener("change", applyFilter);
  applyFilter();
})();
