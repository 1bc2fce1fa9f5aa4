package webhook

// Path is where the service takes GitHub's deliveries; an App made by
// app create sends its webhooks to the public URL with this path.
const Path = "/webhook"
