using System.Buffers.Binary;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Bpi.Orchestration.Health;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Strategies.Telemetry;

namespace Bpi.Orchestration.Strategies.Health;

/// <summary>
/// The gRPC health protocol (<c>grpc.health.v1.Health/Check</c>) over cleartext HTTP/2, without a gRPC library: the
/// request and response messages are encoded by hand (a one-field protobuf each). Healthy when grpc-status is 0 and the
/// answer is SERVING.
/// </summary>
internal sealed class GrpcHealthProbe(StrategiesHttp http) : IHealthProbe
{
    internal const string Path = "/grpc.health.v1.Health/Check";

    public bool CanProbe(HealthCheckKind kind) => kind == HealthCheckKind.Grpc;

    public async ValueTask<ProbeResult> ProbeAsync(WorkloadInstance instance, HealthCheckSpec check, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ArgumentNullException.ThrowIfNull(check);
        if (ProbeTarget.Resolve(instance, check) is not { } endpoint)
        {
            return ProbeTarget.NoEndpoint(instance);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(string.Create(CultureInfo.InvariantCulture, $"http://{endpoint}{Path}")))
        {
            Version = System.Net.HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(EncodeRequest(check.GrpcService)),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        try
        {
            using var response = await http.H2c.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return ProbeResult.Fail(string.Create(CultureInfo.InvariantCulture, $"the gRPC health check answered HTTP {(int)response.StatusCode}"));
            }

            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            var grpcStatus = Header(response.TrailingHeaders, "grpc-status") ?? Header(response.Headers, "grpc-status");
            if (grpcStatus is not "0")
            {
                var message = Header(response.TrailingHeaders, "grpc-message") ?? Header(response.Headers, "grpc-message");
                return ProbeResult.Fail($"the gRPC health check failed with grpc-status {grpcStatus ?? "(none)"}" + (message is null ? "" : $": {Uri.UnescapeDataString(message)}"));
            }

            var status = DecodeResponse(body);
            return status == ServingStatus.Serving
                ? ProbeResult.Pass
                : ProbeResult.Fail($"the service '{check.GrpcService}' is {status.ToString().ToUpperInvariant()}, not SERVING");
        }
        catch (HttpRequestException ex)
        {
            return ProbeResult.Fail($"the gRPC health check failed: {ex.Message}");
        }
        catch (FormatException ex)
        {
            return ProbeResult.Fail($"the gRPC health check answered a malformed message: {ex.Message}");
        }
    }

    /// <summary>A length-prefixed gRPC message holding <c>HealthCheckRequest { string service = 1; }</c>.</summary>
    internal static byte[] EncodeRequest(string service)
    {
        var name = Encoding.UTF8.GetBytes(service ?? "");
        var message = new List<byte>();
        if (name.Length > 0)
        {
            message.Add(0x0A); // field 1, wire type 2 (length-delimited)
            WriteVarint(message, (ulong)name.Length);
            message.AddRange(name);
        }

        var frame = new byte[5 + message.Count];
        frame[0] = 0; // not compressed
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Count);
        message.CopyTo(frame, 5);
        return frame;
    }

    /// <summary>Reads <c>HealthCheckResponse { ServingStatus status = 1; }</c> from a length-prefixed gRPC message; unknown fields are skipped.</summary>
    internal static ServingStatus DecodeResponse(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < 5)
        {
            throw new FormatException("the response has no gRPC message");
        }

        if (frame[0] != 0)
        {
            throw new FormatException("the response is compressed");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(frame[1..]);
        if (length > frame.Length - 5)
        {
            throw new FormatException("the gRPC message is truncated");
        }

        var message = frame.Slice(5, (int)length);
        var status = ServingStatus.Unknown; // proto3 default
        var i = 0;
        while (i < message.Length)
        {
            var key = ReadVarint(message, ref i);
            var field = key >> 3;
            switch (key & 7)
            {
                case 0:
                    var value = ReadVarint(message, ref i);
                    if (field == 1)
                    {
                        status = (ServingStatus)(int)value;
                    }

                    break;
                case 1:
                    i += 8;
                    break;
                case 2:
                    var skip = (int)ReadVarint(message, ref i);
                    i += skip;
                    break;
                case 5:
                    i += 4;
                    break;
                default:
                    throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"unsupported wire type {key & 7}"));
            }

            if (i > message.Length)
            {
                throw new FormatException("a field runs past the end of the message");
            }
        }

        return status;
    }

    private static void WriteVarint(List<byte> output, ulong value)
    {
        while (value >= 0x80)
        {
            output.Add((byte)(value | 0x80));
            value >>= 7;
        }

        output.Add((byte)value);
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int index)
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (index >= data.Length)
            {
                throw new FormatException("a varint runs past the end of the message");
            }

            var b = data[index++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }

        throw new FormatException("a varint is too long");
    }

    private static string? Header(HttpHeaders headers, string name)
        => headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    /// <summary>grpc.health.v1.HealthCheckResponse.ServingStatus.</summary>
    internal enum ServingStatus
    {
        Unknown = 0,
        Serving = 1,
        NotServing = 2,
        ServiceUnknown = 3,
    }
}
