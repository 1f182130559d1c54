// Click a column header to sort its table by that column (numbers numerically).
document.querySelectorAll("table.leaderboard th.sortable").forEach((th) => {
  th.addEventListener("click", () => {
    const table = th.closest("table");
    const column = Array.from(th.parentNode.children).indexOf(th);
    const descending = th.getAttribute("aria-sort") !== "descending";
    table.querySelectorAll("th").forEach((h) => h.removeAttribute("aria-sort"));
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    const key = (row) => {
      const text = row.children[column].dataset.value ?? row.children[column].textContent;
      const number = parseFloat(text);
      return Number.isNaN(number) ? text : number;
    };
    const rows = Array.from(table.tBodies[0].rows);
    rows.sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * (descending ? -1 : 1));
    rows.forEach((row) => table.tBodies[0].appendChild(row));
  });
});
