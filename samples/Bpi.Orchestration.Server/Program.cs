using Bpi.Orchestration.Server;

// The orchestrator as a service: the HTTP API, health, metrics, OpenAPI and the dashboard on Kestrel, configured by
// appsettings.json (section "Server"; see the README's "Run it as a service").
try
{
    var app = ServerApp.Build(args);
    await app.RunAsync();
    return 0;
}
catch (ServerConfigurationException ex)
{
    await Console.Error.WriteLineAsync(ex.Message);
    return 2;
}
