"""SONet, objectness guidance ("Simpler Does It"), in the order of its DAG.

classes + source (the source dataset, the overlap filter of Eq. 1)
-> objectness (phi_P, its training and its maps O) -> labels (Eq. 2-3)
-> stage (SONet, Eq. 4-5).
"""
