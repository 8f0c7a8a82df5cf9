using Microsoft.AspNetCore.Http;

namespace Bpi.Orchestration.Kubernetes.Emulator;

/// <summary>A request's verb, kind, namespace, name and subresource, parsed from its method and path as the API server's routing does.</summary>
internal sealed record ApiRequest(string Verb, EmulatedKind Kind, string? Namespace, string? Name, string? Subresource)
{
    public static ApiRequest Parse(HttpRequest request)
    {
        var segments = (request.Path.Value ?? "").Trim('/').Split('/');
        string group, version;
        int rest;
        if (segments is ["api", var v, ..])
        {
            (group, version, rest) = ("", v, 2);
        }
        else if (segments is ["apis", var g, var v2, ..])
        {
            (group, version, rest) = (g, v2, 3);
        }
        else
        {
            throw new ApiError(404, "NotFound", $"the server could not find the requested resource ({request.Path})");
        }

        var tail = segments[rest..];
        string? ns = null;
        if (tail.Length >= 3 && tail[0] == "namespaces")
        {
            ns = tail[1];
            tail = tail[2..];
        }

        if (tail.Length == 0)
        {
            throw new ApiError(404, "NotFound", $"the server could not find the requested resource ({request.Path})");
        }

        var kind = EmulatedKind.Find(group, version, tail[0])
            ?? throw new ApiError(404, "NotFound", $"the server could not find the requested resource ({request.Path}); the emulator does not serve it");
        var name = tail.Length > 1 ? tail[1] : null;
        var subresource = tail.Length > 2 ? tail[2] : null;
        var watch = request.Query["watch"] is var w && (w == "true" || w == "1");
        var verb = request.Method switch
        {
            "GET" when name is null && watch => "watch",
            "GET" when name is null => "list",
            "GET" => "get",
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" when name is null => "deletecollection",
            "DELETE" => "delete",
            _ => throw new ApiError(405, "MethodNotAllowed", $"method {request.Method} is not allowed"),
        };
        return new ApiRequest(verb, kind, ns, name, subresource);
    }
}
