// "Try it" for /doc/api: a form under each method that sends the request
// with the credentials typed at the top of the page. Credentials stay in the
// page's memory; nothing is stored or sent anywhere but to this server.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const credentials = document.getElementById("credentials");
  credentials.hidden = false;
  credentials.addEventListener("submit", (event) => event.preventDefault());
  const authHeader = () => {
    const login = document.getElementById("login").value;
    const password = document.getElementById("password").value;
    const bytes = new TextEncoder().encode(`${login}:${password}`);
    return "Basic " + btoa(String.fromCharCode(...bytes));
  };
  for (const section of document.querySelectorAll("section.op[data-method]")) {
    const method = section.dataset.method;
    const template = section.querySelector("template.example");
    const params = [...section.dataset.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    const box = document.createElement("div");
    box.className = "try";
    const inputs = {};
    for (const name of params) {
      const label = document.createElement("label");
      label.textContent = `${name} `;
      inputs[name] = document.createElement("input");
      label.append(inputs[name], " ");
      box.append(label);
    }
    let body = null;
    if (template) {
      body = document.createElement("textarea");
      body.value = template.innerHTML.replace(/&quot;/g, '"').replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">").replace(/&#x27;/g, "'").replace(/&amp;/g, "&");
      box.append(body);
    }
    const send = document.createElement("button");
    send.textContent = `Send ${method}`;
    const output = document.createElement("pre");
    output.hidden = true;
    box.append(send, output);
    section.append(box);
    send.addEventListener("click", async () => {
      let path = section.dataset.path;
      for (const name of params) {
        path = path.replace(`{${name}}`, encodeURIComponent(inputs[name].value));
      }
      const headers = {};
      if (section.dataset.auth === "yes") headers.Authorization = authHeader();
      if (body) headers["Content-Type"] = "application/json";
      output.hidden = false;
      output.textContent = "…";
      try {
        const response = await fetch(path, { method, headers, body: body ? body.value : undefined });
        const text = await response.text();
        let shown = text;
        try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
        output.textContent = `${response.status} ${response.statusText}\n${shown}`;
      } catch (error) {
        output.textContent = `request failed: ${error}`;
      }
    });
  }
});
