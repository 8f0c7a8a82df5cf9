using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Bpi.Orchestration.State;

namespace Bpi.Orchestration.AspNetCore;

/// <summary>
/// The one place a deployment document in a request body becomes a <see cref="DeploymentSpec"/>.
/// THIN ADAPTER (temporary): reads Core's own JSON form of a spec (<see cref="DeploymentJson.Options"/>, unknown fields
/// refused) until the Configuration package's reader of deployment documents (the seed's snake_case body included) is merged.
/// </summary>
internal static class SpecReader
{
    private static readonly JsonSerializerOptions Strict = CreateStrict();

    public static DeploymentSpec Read(JsonNode? body, string source)
    {
        if (body is not JsonObject)
        {
            throw new ApiProblemException(StatusCodes.Status400BadRequest, "The request body is invalid.", [$"{source}: a deployment document must be a JSON object."]);
        }

        DeploymentSpec? spec;
        try
        {
            spec = body.Deserialize<DeploymentSpec>(Strict);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            throw new ApiProblemException(StatusCodes.Status400BadRequest, "The request body is invalid.", [$"{source}: {ex.Message}"]);
        }

        spec!.EnsureValid();
        return spec;
    }

    private static JsonSerializerOptions CreateStrict()
    {
        var options = new JsonSerializerOptions(DeploymentJson.Options) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
