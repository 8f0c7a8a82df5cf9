using System.Net;
using System.Text;

namespace Bpi.Orchestration.TestUtilities;

/// <summary>A real HTTP server on a loopback port (HttpListener), answering each request with a status (and optional body) from a function.</summary>
public sealed class LoopbackHttpServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<HttpListenerRequest, string, (int Status, string Body)> _answer;
    private readonly Lock _gate = new();
    private readonly List<string> _paths = [];
    private readonly List<string> _bodies = [];

    public LoopbackHttpServer(Func<HttpListenerRequest, int> status)
        : this((r, _) => (status(r), ""))
    {
    }

    public LoopbackHttpServer(Func<HttpListenerRequest, string, (int Status, string Body)> answer)
    {
        _answer = answer;
        for (var attempt = 0; ; attempt++)
        {
            Port = FreePort();
            _listener.Prefixes.Clear();
            _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
            try
            {
                _listener.Start();
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
            }
        }

        _ = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public Uri Url => new($"http://127.0.0.1:{Port}/");

    public IReadOnlyList<string> Paths
    {
        get
        {
            lock (_gate)
            {
                return [.. _paths];
            }
        }
    }

    public IReadOnlyList<string> Bodies
    {
        get
        {
            lock (_gate)
            {
                return [.. _bodies];
            }
        }
    }

    public void Dispose() => _listener.Close();

    /// <summary>A loopback port free at the moment of asking (another process may take it before it is bound: callers retry).</summary>
    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            string body;
            using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8))
            {
                body = await reader.ReadToEndAsync();
            }

            lock (_gate)
            {
                _paths.Add(context.Request.Url!.PathAndQuery);
                _bodies.Add(body);
            }

            var (status, text) = _answer(context.Request, body);
            context.Response.StatusCode = status;
            var bytes = Encoding.UTF8.GetBytes(text);
            context.Response.ContentType = "application/json";
            context.Response.ContentLength64 = bytes.Length;
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
    }
}
