using System.Net;
using Bpi.Orchestration.Strategies.Health;
using Bpi.Orchestration.Strategies.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Bpi.Orchestration.Strategies.Tests.Health;

/// <summary>Against a real cleartext HTTP/2 server (Kestrel) speaking the gRPC health protocol.</summary>
public sealed class GrpcHealthProbeTests
{
    [Fact]
    public void The_request_is_a_length_prefixed_protobuf_with_the_service_name()
    {
        Assert.Equal([0, 0, 0, 0, 5, 0x0A, 3, (byte)'a', (byte)'p', (byte)'i'], GrpcHealthProbe.EncodeRequest("api"));
        Assert.Equal([0, 0, 0, 0, 0], GrpcHealthProbe.EncodeRequest(""));
    }

    [Fact]
    public void The_response_status_is_read_and_unknown_fields_are_skipped()
    {
        Assert.Equal(GrpcHealthProbe.ServingStatus.Serving, GrpcHealthProbe.DecodeResponse([0, 0, 0, 0, 2, 0x08, 1]));
        Assert.Equal(GrpcHealthProbe.ServingStatus.NotServing, GrpcHealthProbe.DecodeResponse([0, 0, 0, 0, 6, 0x12, 2, 0x68, 0x69, 0x08, 2]));
        Assert.Equal(GrpcHealthProbe.ServingStatus.Unknown, GrpcHealthProbe.DecodeResponse([0, 0, 0, 0, 0]));
        Assert.Throws<FormatException>(() => GrpcHealthProbe.DecodeResponse([0, 0, 0, 0, 9, 0x08]));
    }

    [Fact]
    public async Task The_gRPC_probe_passes_for_SERVING_and_fails_for_NOT_SERVING_and_an_error_status()
    {
        await using var server = await StartAsync();
        using var http = new StrategiesHttp();
        var probe = new GrpcHealthProbe(http);
        var instance = HealthProbeTests.Instance(server.Port);

        var serving = await probe.ProbeAsync(instance, new HealthCheckSpec { Kind = HealthCheckKind.Grpc, GrpcService = "" });
        var notServing = await probe.ProbeAsync(instance, new HealthCheckSpec { Kind = HealthCheckKind.Grpc, GrpcService = "orders" });
        var unknown = await probe.ProbeAsync(instance, new HealthCheckSpec { Kind = HealthCheckKind.Grpc, GrpcService = "nope" });

        Assert.True(serving.Healthy, serving.Message);
        Assert.False(notServing.Healthy);
        Assert.Contains("NOTSERVING", notServing.Message, StringComparison.Ordinal);
        Assert.False(unknown.Healthy);
        Assert.Contains("grpc-status 5: unknown service nope", unknown.Message, StringComparison.Ordinal);
    }

    private static async Task<Server> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        var app = builder.Build();
        app.MapPost(GrpcHealthProbe.Path, async (HttpContext context) =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            var frame = buffer.ToArray();
            var service = frame.Length > 7 ? System.Text.Encoding.UTF8.GetString(frame, 7, frame[6]) : "";
            context.Response.ContentType = "application/grpc";
            if (service == "nope")
            {
                context.Response.AppendTrailer("grpc-status", "5");
                context.Response.AppendTrailer("grpc-message", "unknown service nope");
                return;
            }

            byte status = service == "" ? (byte)1 : (byte)2;
            await context.Response.Body.WriteAsync(new byte[] { 0, 0, 0, 0, 2, 0x08, status });
            context.Response.AppendTrailer("grpc-status", "0");
        });
        await app.StartAsync();
        var address = app.Urls.First();
        return new Server(app, new Uri(address).Port);
    }

    private sealed record Server(WebApplication App, int Port) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await App.DisposeAsync();
    }
}
