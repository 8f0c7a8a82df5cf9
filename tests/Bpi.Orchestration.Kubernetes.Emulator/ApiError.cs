using System.Text.Json.Nodes;

namespace Bpi.Orchestration.Kubernetes.Emulator;

/// <summary>An API error, answered as a <c>Status</c> object with its HTTP code, as the API server does.</summary>
internal sealed class ApiError(int code, string reason, string message, JsonObject? details = null) : Exception(message)
{
    public int Code { get; } = code;

    public string Reason { get; } = reason;

    public JsonObject ToStatus() => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = Message,
        ["reason"] = Reason,
        ["details"] = details?.DeepClone(),
        ["code"] = Code,
    };

    public static ApiError NotFound(EmulatedKind kind, string name)
        => new(404, "NotFound", $"{kind.QualifiedResource} \"{name}\" not found", Details(kind, name));

    public static ApiError AlreadyExists(EmulatedKind kind, string name)
        => new(409, "AlreadyExists", $"{kind.QualifiedResource} \"{name}\" already exists", Details(kind, name));

    public static ApiError Conflict(EmulatedKind kind, string name)
        => new(409, "Conflict", $"Operation cannot be fulfilled on {kind.QualifiedResource} \"{name}\": the object has been modified; please apply your changes to the latest version and try again", Details(kind, name));

    public static ApiError Gone(string resourceVersion)
        => new(410, "Expired", $"too old resource version: {resourceVersion}");

    public static ApiError Invalid(EmulatedKind kind, string name, IReadOnlyList<(string Field, string Message)> causes)
    {
        var details = Details(kind, name);
        details["causes"] = new JsonArray([.. causes.Select(c => (JsonNode)new JsonObject { ["reason"] = "FieldValueInvalid", ["message"] = c.Message, ["field"] = c.Field })]);
        return new(422, "Invalid", $"{kind.Kind} \"{name}\" is invalid: " + string.Join(", ", causes.Select(c => $"{c.Field}: {c.Message}")), details);
    }

    public static ApiError Forbidden(EmulatedKind kind, string verb, string? name, string? ns, string user)
        => new(
            403,
            "Forbidden",
            $"{kind.QualifiedResource}{(name is null ? "" : $" \"{name}\"")} is forbidden: User \"{user}\" cannot {verb} resource \"{kind.Resource}\" in API group \"{kind.Group}\"" + (ns is null ? " at the cluster scope" : $" in the namespace \"{ns}\""),
            Details(kind, name ?? ""));

    private static JsonObject Details(EmulatedKind kind, string name) => new() { ["name"] = name, ["group"] = kind.Group, ["kind"] = kind.Resource };
}
