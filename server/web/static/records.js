// The records page's export form: it asks for the chosen kind's address. Here, not in an onsubmit attribute,
// because the Content-Security-Policy runs scripts from this server's files only.
"use strict";

for (const form of document.querySelectorAll("form.export-form")) {
  form.addEventListener("submit", () => {
    const kind = form.elements.kind;
    form.action = "/api/v1/records/export/" + encodeURIComponent(kind.value);
    kind.disabled = true; // the kind is in the address, not a query parameter
    // The file downloads and the page stays: enable the choice again for the next export.
    setTimeout(() => { kind.disabled = false; });
  });
}
