/* People list: a "select everyone on this page" box for the bulk edit form. Without
   JavaScript each person is ticked on their own. */
(function () {
  "use strict";
  var all = document.getElementById("select-all-people");
  if (!all) {
    return;
  }
  all.hidden = false;
  var label = document.querySelector('label[for="select-all-people"]');
  if (label) {
    label.hidden = false;
  }
  all.addEventListener("change", function () {
    document.querySelectorAll('input[name="people"][form="bulk-edit"]').forEach(function (box) {
      box.checked = all.checked;
    });
  });
})();
