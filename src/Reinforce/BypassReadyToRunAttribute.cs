namespace System.Runtime;

/// <summary>
/// Marks a method of the training step (called per environment step or per minibatch): crossgen2 leaves it out of the
/// precompiled (ReadyToRun) image, which it recognises by this attribute's namespace and name (the runtime's own
/// internal attribute; a copy in any assembly is honoured). The JIT then compiles it for this processor — fully
/// optimised at once in the CLI, which runs without tiered compilation; through the usual tiers, with dynamic PGO, in a
/// program that keeps them — while everything else the command runs once starts precompiled (DESIGN.md, "Start-up").
/// <see cref="Reinforce.Training.Precompilation"/> compiles every marked method on a background thread as training
/// starts. Precompiled, these methods ran 3–5 % slower in the steady state.
/// </summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Constructor, Inherited = false)]
internal sealed class BypassReadyToRunAttribute : Attribute
{
}
