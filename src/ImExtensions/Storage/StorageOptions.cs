using System.ComponentModel.DataAnnotations;

namespace MqttIm.ImExtensions.Storage;

/// <summary>Configuration section <c>Storage</c>.</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary>Where the embedded database and generated keys live; relative paths are taken from the working directory.</summary>
    [Required]
    public string DataDirectory { get; set; } = "data";

    /// <summary>SQLite synchronous mode: <c>Full</c> fsyncs every group commit (survives power loss), <c>Normal</c> survives a process crash only.</summary>
    [RegularExpression("^(Full|Normal)$")]
    public string Synchronous { get; set; } = "Full";

    /// <summary>Most messages one group commit writes.</summary>
    [Range(1, 100_000)]
    public int MaxCommitBatch { get; set; } = 2048;
}
