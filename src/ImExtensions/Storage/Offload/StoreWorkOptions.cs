using System.ComponentModel.DataAnnotations;

namespace MqttIm.ImExtensions.Storage.Offload;

/// <summary>Configuration section <c>StoreWork</c>: the threads that run store I/O for RPCs, group loads and presence checks.</summary>
public sealed class StoreWorkOptions
{
    public const string SectionName = "StoreWork";

    /// <summary>Threads running store reads (sync, history, conversations, group loads, presence checks); 0 = half the cores, at least one.</summary>
    [Range(0, 256)]
    public int ReadWorkers { get; set; }

    /// <summary>Threads running store writes requested by RPCs (read positions, flags, group changes); 0 = a quarter of the cores, at least one.</summary>
    [Range(0, 256)]
    public int WriteWorkers { get; set; }

    /// <summary>Work items waiting per lane; an RPC arriving at a full lane is answered <c>busy</c> at once.</summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 256;
}
