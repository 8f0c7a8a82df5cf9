using System.Text.Json.Serialization;

namespace Bpi.Orchestration.Components.Docker.Engine.Models;

/// <summary>
/// Source-generated System.Text.Json metadata for every body the client sends or reads. The engine's JSON uses Go's
/// field names (mostly PascalCase, a few lowercase) and Go's decoder matches names case-insensitively, so reading is
/// case-insensitive too.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNameCaseInsensitive = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(DockerErrorResponse))]
[JsonSerializable(typeof(IdResponse))]
[JsonSerializable(typeof(VersionResponse))]
[JsonSerializable(typeof(InfoResponse))]
[JsonSerializable(typeof(EventMessage))]
[JsonSerializable(typeof(JsonProgressMessage))]
[JsonSerializable(typeof(ImageInspectResponse))]
[JsonSerializable(typeof(List<ImageSummary>))]
[JsonSerializable(typeof(ContainerCreateRequest))]
[JsonSerializable(typeof(ContainerCreateResponse))]
[JsonSerializable(typeof(List<ContainerSummary>))]
[JsonSerializable(typeof(ContainerInspectResponse))]
[JsonSerializable(typeof(ContainerWaitResponse))]
[JsonSerializable(typeof(ContainerStatsResponse))]
[JsonSerializable(typeof(ExecCreateRequest))]
[JsonSerializable(typeof(ExecStartRequest))]
[JsonSerializable(typeof(ExecInspectResponse))]
[JsonSerializable(typeof(NetworkCreateRequest))]
[JsonSerializable(typeof(NetworkCreateResponse))]
[JsonSerializable(typeof(NetworkResource))]
[JsonSerializable(typeof(List<NetworkResource>))]
[JsonSerializable(typeof(NetworkConnectRequest))]
[JsonSerializable(typeof(VolumeCreateRequest))]
[JsonSerializable(typeof(VolumeResource))]
[JsonSerializable(typeof(VolumeListResponse))]
[JsonSerializable(typeof(Dictionary<string, List<string>>))]
internal sealed partial class DockerJsonContext : JsonSerializerContext;
