using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;

namespace Bpi.Orchestration.AspNetCore;

/// <summary>
/// Reads a request's JSON body within <see cref="OrchestrationApiOptions.MaxRequestBodyBytes"/>: 413 past the limit,
/// 415 for another media type, 400 with the position for malformed JSON or a duplicate property. The one place a body
/// enters the API.
/// </summary>
internal static class RequestBody
{
    private static readonly JsonNodeOptions NodeOptions = new() { PropertyNameCaseInsensitive = false };
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64, AllowDuplicateProperties = false };

    /// <summary>The body as a JSON tree, or <see langword="null"/> when there is no body and <paramref name="optional"/>.</summary>
    public static async Task<JsonNode?> ReadAsync(HttpContext context, OrchestrationApiOptions options, bool optional = false)
    {
        var request = context.Request;
        var limit = options.MaxRequestBodyBytes;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            // The server stops reading past the limit (+1 so that the overrun is seen here and answered with 413).
            size.MaxRequestBodySize = limit + 1;
        }

        if (request.ContentLength > limit)
        {
            throw TooLarge(limit);
        }

        if (request.ContentLength is 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count == 0))
        {
            return optional ? null : throw new ApiProblemException(StatusCodes.Status400BadRequest, "The request has no body.", ["body: required; send a JSON object."]);
        }

        if (request.ContentType is { } type && !type.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            throw new ApiProblemException(StatusCodes.Status415UnsupportedMediaType, "The body must be JSON.", [$"Content-Type: '{type}' is not JSON; send application/json."]);
        }

        var buffer = new ArrayBufferWriter<byte>(4096);
        try
        {
            while (true)
            {
                var memory = buffer.GetMemory(8192);
                var read = await request.Body.ReadAsync(memory, context.RequestAborted).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                buffer.Advance(read);
                if (buffer.WrittenCount > limit)
                {
                    throw TooLarge(limit);
                }
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(limit);
        }

        if (buffer.WrittenCount == 0)
        {
            return optional ? null : throw new ApiProblemException(StatusCodes.Status400BadRequest, "The request has no body.", ["body: required; send a JSON object."]);
        }

        try
        {
            return JsonNode.Parse(buffer.WrittenSpan, NodeOptions, DocumentOptions);
        }
        catch (JsonException ex)
        {
            var where = ex.LineNumber is { } line ? string.Create(CultureInfo.InvariantCulture, $" at line {line + 1}, position {(ex.BytePositionInLine ?? 0) + 1}") : "";
            throw new ApiProblemException(StatusCodes.Status400BadRequest, "The body is not well-formed JSON.", [$"body: malformed JSON{where}; fix the syntax and send it again."]);
        }
    }

    private static ApiProblemException TooLarge(long limit)
        => new(StatusCodes.Status413PayloadTooLarge, "The body is too large.", [string.Create(CultureInfo.InvariantCulture, $"body: larger than the limit of {limit} bytes; send a smaller document.")]);
}

/// <summary>
/// Reads the fields of a small JSON object body (scale, rollback, approve), collecting every problem: wrong types,
/// out-of-range values, missing required fields and unknown fields, by their snake_case names.
/// </summary>
internal sealed class BodyFields
{
    private readonly JsonObject? _body;
    private readonly List<string> _problems = [];
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);

    public BodyFields(JsonNode? body)
    {
        if (body is null or JsonObject)
        {
            _body = body as JsonObject;
        }
        else
        {
            _problems.Add($"body: a JSON {body.GetValueKind().ToString().ToLowerInvariant()} where an object is expected.");
        }
    }

    public string? String(string name, bool required = false, int maxLength = 1024)
    {
        var value = Get(name, required);
        if (value is null)
        {
            return null;
        }

        if (value.GetValueKind() != JsonValueKind.String)
        {
            _problems.Add($"{name}: a {value.GetValueKind().ToString().ToLowerInvariant()} where a string is expected.");
            return null;
        }

        var text = value.GetValue<string>();
        if (text.Length > maxLength)
        {
            _problems.Add(string.Create(CultureInfo.InvariantCulture, $"{name}: {text.Length} characters, more than the limit of {maxLength}."));
            return null;
        }

        return text;
    }

    public int? Int(string name, bool required = false, int min = int.MinValue, int max = int.MaxValue)
    {
        var value = Get(name, required);
        if (value is null)
        {
            return null;
        }

        if (value.GetValueKind() != JsonValueKind.Number || !value.AsValue().TryGetValue<int>(out var number))
        {
            _problems.Add($"{name}: {Describe(value)} where an integer is expected.");
            return null;
        }

        if (number < min || number > max)
        {
            _problems.Add(string.Create(CultureInfo.InvariantCulture, $"{name}: {number} is outside {min}..{max}."));
            return null;
        }

        return number;
    }

    public bool? Bool(string name)
    {
        var value = Get(name, required: false);
        if (value is null)
        {
            return null;
        }

        if (value.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
        {
            _problems.Add($"{name}: {Describe(value)} where true or false is expected.");
            return null;
        }

        return value.GetValue<bool>();
    }

    /// <summary>Throws 400 listing every problem, unknown fields included; returns when the body is clean.</summary>
    public void EnsureValid()
    {
        if (_body is not null)
        {
            foreach (var (key, _) in _body)
            {
                if (!_known.Contains(key))
                {
                    _problems.Add($"{key}: unknown field; known fields: {string.Join(", ", _known.Order(StringComparer.Ordinal))}.");
                }
            }
        }

        if (_problems.Count > 0)
        {
            throw new ApiProblemException(StatusCodes.Status400BadRequest, "The request body is invalid.", _problems);
        }
    }

    private JsonNode? Get(string name, bool required)
    {
        _known.Add(name);
        if (_body is null || !_body.TryGetPropertyValue(name, out var value) || value is null)
        {
            if (required)
            {
                _problems.Add($"{name}: required.");
            }

            return null;
        }

        return value;
    }

    private static string Describe(JsonNode value)
    {
        var kind = value.GetValueKind();
        return kind == JsonValueKind.String ? "a string" : kind == JsonValueKind.Number ? "the number " + value.ToJsonString() : "a " + kind.ToString().ToLowerInvariant();
    }
}
