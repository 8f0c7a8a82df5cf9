using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Bpi.Orchestration.TestUtilities;

/// <summary>
/// A headless Chromium driven over its DevTools protocol (CDP, JSON over a WebSocket): one page to navigate, evaluate
/// JavaScript in, click with real mouse events and screenshot. Its own profile directory and a DevTools port chosen by
/// the browser (read from <c>DevToolsActivePort</c>); killed with its children on dispose.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TempDirectory _profile;
    private readonly ClientWebSocket _socket;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonObject>> _pending = new();
    private readonly ConcurrentQueue<string> _console = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _send = new(1, 1);
    private readonly Task _receiver;
    private int _nextId;

    private HeadlessChromium(Process process, TempDirectory profile, ClientWebSocket socket)
    {
        _process = process;
        _profile = profile;
        _socket = socket;
        _receiver = ReceiveAsync(_stop.Token);
    }

    /// <summary>What the page logged to its console and the exceptions it threw, for a failing test's message.</summary>
    public string ConsoleOutput => string.Join(Environment.NewLine, _console);

    /// <summary>Starts the browser at <paramref name="executable"/> and attaches to its first page.</summary>
    public static async Task<HeadlessChromium> StartAsync(string executable, int width = 1280, int height = 900)
    {
        var profile = new TempDirectory("bpi-chromium");
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-background-networking", "--disable-sync",
            "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", $"--user-data-dir={profile.Path}",
            string.Create(CultureInfo.InvariantCulture, $"--window-size={width},{height}"), "about:blank",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{executable} did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var portFile = profile.Combine("DevToolsActivePort");
            await Eventually.UntilAsync(() => process.HasExited || (File.Exists(portFile) && File.ReadAllLines(portFile).Length >= 2), "chromium writes DevToolsActivePort", TimeSpan.FromSeconds(60));
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{executable} exited with {process.ExitCode} before opening its DevTools port.");
            }

            var port = int.Parse(File.ReadAllLines(portFile)[0], CultureInfo.InvariantCulture);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var page = await Eventually.UntilAsync(
                async () => JsonNode.Parse(await http.GetStringAsync("/json/list"))!.AsArray().FirstOrDefault(t => t!["type"]!.GetValue<string>() == "page"),
                t => t is not null,
                "chromium lists a page target");
            var socket = new ClientWebSocket();
            socket.Options.KeepAliveInterval = TimeSpan.Zero;
            await socket.ConnectAsync(new Uri(page!["webSocketDebuggerUrl"]!.GetValue<string>()), CancellationToken.None);
            var browser = new HeadlessChromium(process, profile, socket);
            await browser.SendAsync("Page.enable");
            await browser.SendAsync("Runtime.enable");
            return browser;
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            process.Dispose();
            profile.Dispose();
            throw;
        }
    }

    /// <summary>Sends one CDP command and returns its <c>result</c>; a CDP error throws.</summary>
    public async Task<JsonObject> SendAsync(string method, JsonObject? parameters = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        await _send.WaitAsync();
        try
        {
            await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        }
        finally
        {
            _send.Release();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var registration = timeout.Token.Register(() => answer.TrySetException(new TimeoutException($"CDP {method} got no answer in 60 s.")));
        var response = await answer.Task;
        if (response["error"] is { } error)
        {
            throw new InvalidOperationException($"CDP {method} failed: {error.ToJsonString()}");
        }

        return response["result"] as JsonObject ?? new JsonObject();
    }

    /// <summary>Opens <paramref name="url"/> and waits until its document has loaded.</summary>
    public async Task NavigateAsync(string url)
    {
        var result = await SendAsync("Page.navigate", new JsonObject { ["url"] = url });
        if (result["errorText"] is { } error)
        {
            throw new InvalidOperationException($"Navigating to {url} failed: {error}");
        }

        await Eventually.UntilAsync(async () => (await EvaluateAsync("document.readyState"))?.GetValue<string>(), s => s == "complete", $"{url} has loaded");
    }

    /// <summary>Evaluates a JavaScript expression in the page (promises awaited) and returns its value as JSON.</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true });
        if (result["exceptionDetails"] is { } exception)
        {
            throw new InvalidOperationException($"The page threw evaluating `{expression}`: {exception.ToJsonString()}");
        }

        return result["result"]?["value"]?.DeepClone();
    }

    /// <summary>Clicks the centre of the element <paramref name="selector"/> finds, with mouse events as a user would.</summary>
    public async Task ClickAsync(string selector)
    {
        var box = await EvaluateAsync($"(() => {{ const e = document.querySelector({JsonSerializer.Serialize(selector)}); if (!e) return null; e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); return {{ x: r.left + r.width / 2, y: r.top + r.height / 2 }}; }})()")
            ?? throw new InvalidOperationException($"No element matches {selector}.");
        var x = box["x"]!.GetValue<double>();
        var y = box["y"]!.GetValue<double>();
        await SendAsync("Input.dispatchMouseEvent", new JsonObject { ["type"] = "mouseMoved", ["x"] = x, ["y"] = y });
        await SendAsync("Input.dispatchMouseEvent", new JsonObject { ["type"] = "mousePressed", ["x"] = x, ["y"] = y, ["button"] = "left", ["clickCount"] = 1 });
        await SendAsync("Input.dispatchMouseEvent", new JsonObject { ["type"] = "mouseReleased", ["x"] = x, ["y"] = y, ["button"] = "left", ["clickCount"] = 1 });
    }

    /// <summary>Saves a PNG screenshot of the page to <paramref name="path"/> (its directory is created).</summary>
    public async Task ScreenshotAsync(string path)
    {
        var result = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" });
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String(result["data"]!.GetValue<string>()));
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The browser is killed next anyway.
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        try
        {
            await _receiver;
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The connection ended with the browser.
        }

        _socket.Dispose();
        _process.Dispose();
        _stop.Dispose();
        _send.Dispose();
        _profile.Dispose();
    }

    private async Task ReceiveAsync(CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        var message = new MemoryStream();
        try
        {
            while (!ct.IsCancellationRequested && _socket.State == WebSocketState.Open)
            {
                var received = await _socket.ReceiveAsync(buffer, ct);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                message.Write(buffer, 0, received.Count);
                if (!received.EndOfMessage)
                {
                    continue;
                }

                var node = JsonNode.Parse(message.GetBuffer().AsSpan(0, (int)message.Length)) as JsonObject;
                message.SetLength(0);
                if (node?["id"] is { } id && _pending.TryRemove(id.GetValue<int>(), out var answer))
                {
                    answer.TrySetResult(node);
                }
                else if (node?["method"]?.GetValue<string>() is "Runtime.consoleAPICalled" or "Runtime.exceptionThrown")
                {
                    _console.Enqueue(node["params"]!.ToJsonString());
                }
            }
        }
        finally
        {
            foreach (var pending in _pending.Values)
            {
                pending.TrySetException(new WebSocketException("The DevTools connection closed."));
            }
        }
    }
}
